#include "features/user_agent.hpp"

namespace radarcore {
namespace {

enum Browser : int32_t {
  kOther,
  kChrome,
  kChromeMobile,
  kChromeMobileIos,
  kFirefox,
  kFirefoxIos,
  kSafari,
  kMobileSafari,
  kEdge,
  kOpera,
  kSamsung,
  kIe,
  kHeadlessChrome,
  kPhantomJs,
  kYandex,
  kUcBrowser,
  kCurl,
  kPythonRequests,
  kGoHttp
};

enum Os : int32_t { kOsOther, kWindows, kMacOs, kIos, kAndroid, kLinux, kChromeOs };

bool Contains(std::string_view s, std::string_view token) {
  return s.find(token) != std::string_view::npos;
}

// Up to `components` numeric components after `pos`, separated by '.' or '_'.
std::string Version(std::string_view s, size_t pos, int components, bool pad) {
  std::string out;
  int have = 0;
  while (have < components && pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (have > 0) out.push_back('.');
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') out.push_back(s[pos++]);
    ++have;
    if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == '_') && s[pos + 1] >= '0' &&
        s[pos + 1] <= '9') {
      ++pos;
    } else {
      break;
    }
  }
  if (pad && have > 0) {
    for (; have < components; ++have) out += ".0";
  }
  return out;
}

std::string VersionAfter(std::string_view s, std::string_view token, int components, bool pad) {
  const size_t at = s.find(token);
  if (at == std::string_view::npos) return {};
  return Version(s, at + token.size(), components, pad);
}

struct BrowserRule {
  std::string_view token;
  int32_t code;
};

// Order matters: tokens of embedding browsers come before the engines they also name.
constexpr BrowserRule kBrowserRules[] = {
    {"HeadlessChrome/", kHeadlessChrome}, {"PhantomJS/", kPhantomJs},
    {"EdgiOS/", kEdge},                   {"EdgA/", kEdge},
    {"Edg/", kEdge},                      {"Edge/", kEdge},
    {"OPR/", kOpera},                     {"Opera/", kOpera},
    {"SamsungBrowser/", kSamsung},        {"YaBrowser/", kYandex},
    {"UCBrowser/", kUcBrowser},           {"FxiOS/", kFirefoxIos},
    {"Firefox/", kFirefox},               {"CriOS/", kChromeMobileIos},
    {"Chrome/", kChrome},                 {"curl/", kCurl},
    {"python-requests/", kPythonRequests}, {"Go-http-client/", kGoHttp},
};

constexpr std::string_view kAutomationTokens[] = {
    "HeadlessChrome", "PhantomJS", "Headless", "Selenium", "webdriver", "WebDriver", "puppeteer",
    "Puppeteer", "Playwright", "python-requests", "curl/", "Go-http-client", "bot/", "Bot/",
    "spider", "crawler"};

}  // namespace

UserAgentInfo ParseUserAgent(std::string_view ua) {
  UserAgentInfo info;
  for (std::string_view token : kAutomationTokens) {
    if (Contains(ua, token)) {
      info.automated = true;
      break;
    }
  }

  const bool is_iphone = Contains(ua, "iPhone") || Contains(ua, "iPad") || Contains(ua, "iPod");
  const bool is_android = Contains(ua, "Android");
  for (const BrowserRule& rule : kBrowserRules) {
    if (Contains(ua, rule.token)) {
      info.browser_code = rule.code;
      info.browser_version = VersionAfter(ua, rule.token, 3, true);
      break;
    }
  }
  if (info.browser_code == kChrome && is_android && Contains(ua, "Mobile")) {
    info.browser_code = kChromeMobile;
  }
  if (info.browser_code == kOther) {
    if (Contains(ua, "Safari/") && Contains(ua, "Version/")) {
      info.browser_code = (is_iphone || Contains(ua, "Mobile/")) ? kMobileSafari : kSafari;
      info.browser_version = VersionAfter(ua, "Version/", 3, true);
    } else if (Contains(ua, "MSIE ")) {
      info.browser_code = kIe;
      info.browser_version = VersionAfter(ua, "MSIE ", 3, true);
    } else if (Contains(ua, "Trident/") && Contains(ua, "rv:")) {
      info.browser_code = kIe;
      info.browser_version = VersionAfter(ua, "rv:", 3, true);
    }
  }

  if (Contains(ua, "Windows NT ")) {
    info.os_code = kWindows;
    const std::string nt = VersionAfter(ua, "Windows NT ", 2, false);
    if (nt == "10.0") {
      info.os_version = "10";
    } else if (nt == "6.3") {
      info.os_version = "8.1";
    } else if (nt == "6.2") {
      info.os_version = "8";
    } else if (nt == "6.1") {
      info.os_version = "7";
    } else if (nt == "6.0") {
      info.os_version = "Vista";
    } else if (nt == "5.1") {
      info.os_version = "XP";
    }
  } else if (is_iphone) {
    info.os_code = kIos;
    info.os_version = Contains(ua, "iPhone OS ") ? VersionAfter(ua, "iPhone OS ", 3, false)
                                                 : VersionAfter(ua, "CPU OS ", 3, false);
  } else if (is_android) {
    info.os_code = kAndroid;
    info.os_version = VersionAfter(ua, "Android ", 3, false);
  } else if (Contains(ua, "Mac OS X")) {
    info.os_code = kMacOs;
    info.os_version = VersionAfter(ua, "Mac OS X ", 3, false);
  } else if (Contains(ua, "CrOS")) {
    info.os_code = kChromeOs;
  } else if (Contains(ua, "Linux")) {
    info.os_code = kLinux;
  }
  return info;
}

std::string FormatBrowser(const UserAgentInfo& info) {
  std::string out = kBrowserNames[static_cast<size_t>(info.browser_code)];
  if (!info.browser_version.empty()) out += " " + info.browser_version;
  return out;
}

std::string FormatOperatingSystem(const UserAgentInfo& info) {
  std::string out = kOsNames[static_cast<size_t>(info.os_code)];
  if (!info.os_version.empty()) out += " " + info.os_version;
  return out;
}

}  // namespace radarcore
