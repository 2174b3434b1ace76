// Base64 gives RFC 4648's test vectors (every length mod 3) and any byte value.
#include <string>

#include "common/base64.hpp"
#include "tests/check.hpp"

int main() {
  using radarcore::Base64;
  RC_CHECK(Base64("").empty());
  RC_CHECK(Base64("f") == "Zg==");
  RC_CHECK(Base64("fo") == "Zm8=");
  RC_CHECK(Base64("foo") == "Zm9v");
  RC_CHECK(Base64("foob") == "Zm9vYg==");
  RC_CHECK(Base64("fooba") == "Zm9vYmE=");
  RC_CHECK(Base64("foobar") == "Zm9vYmFy");
  RC_CHECK(Base64(std::string("\xff\xfe\x00\x80", 4)) == "//4AgA==");
  return radarcore::test::Finish("test_base64");
}
