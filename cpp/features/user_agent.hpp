// A small user-agent matcher for the browsers and operating systems that make up nearly all
// payment traffic, plus signs of automation. Hand-written because the regex-based ua-parser is
// two orders of magnitude too slow for the batch path; unknown agents come back as "Other".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace radarcore {

// Stable codes: index into the name tables; 0 is "Other" (present but not recognised).
inline constexpr std::array<const char*, 19> kBrowserNames = {
    "Other",         "Chrome",        "Chrome Mobile",   "Chrome Mobile iOS", "Firefox",
    "Firefox iOS",   "Safari",        "Mobile Safari",   "Edge",              "Opera",
    "Samsung Internet", "IE",         "HeadlessChrome",  "PhantomJS",         "Yandex Browser",
    "UC Browser",    "curl",          "Python Requests", "Go-http-client"};
inline constexpr std::array<const char*, 7> kOsNames = {
    "Other", "Windows", "Mac OS X", "iOS", "Android", "Linux", "Chrome OS"};

struct UserAgentInfo {
  int32_t browser_code = 0;
  int32_t os_code = 0;
  std::string browser_version;  // "103.0.5060" (three components, zero-padded)
  std::string os_version;       // "10.15.7", "16.5", "10" (as many components as given)
  bool automated = false;       // headless browser, HTTP library, webdriver or bot token
};

// Never fails: anything unrecognised is Other. Pure function, thread-safe.
UserAgentInfo ParseUserAgent(std::string_view user_agent);

// Radar's spelling: "Chrome 103.0.5060", "Mac OS X 10.15.7"; just the name when no version.
std::string FormatBrowser(const UserAgentInfo& info);
std::string FormatOperatingSystem(const UserAgentInfo& info);

}  // namespace radarcore
