/*
 * radar.js: radarcore's browser session collector (no dependencies, no build step).
 *
 *   <script src="https://radar.example.com/radar.js"></script>
 *   const radar = Radar("pk_test_...");                    // apiBase: where this script came from
 *   const {radarSession, error} = await radar.createRadarSession();
 *   // radarSession.id is "rse_..."; pass it as radar_options[session] to your server.
 *
 * It reads the browser and device signals Radar uses, posts them form-encoded with the
 * publishable key to POST {apiBase}/v1/radar/sessions and resolves to {radarSession} or
 * {error}. It never throws and never rejects: on any failure (network, 4xx/5xx, timeout,
 * a browser without some API) checkout goes on without a session.
 */
(function (global) {
  "use strict";

  var STORAGE_KEY = "__radarcore_device";
  var COOKIE_MAX_AGE = 60 * 60 * 24 * 365 * 2;
  var scriptOrigin = (function () {
    try {
      var script = document.currentScript;
      return script && script.src ? new URL(script.src, location.href).origin : "";
    } catch (e) {
      return "";
    }
  })();

  function attempt(read, fallback) {
    try {
      var value = read();
      return value === undefined ? fallback : value;
    } catch (e) {
      return fallback;
    }
  }

  function randomHex(bytes) {
    var out = "";
    var data = new Uint8Array(bytes);
    if (global.crypto && global.crypto.getRandomValues) {
      global.crypto.getRandomValues(data);
    } else {
      for (var i = 0; i < bytes; i++) data[i] = Math.floor(Math.random() * 256);
    }
    for (var j = 0; j < data.length; j++) out += (data[j] + 256).toString(16).slice(1);
    return out;
  }

  function readCookie(name) {
    var parts = ("; " + document.cookie).split("; " + name + "=");
    return parts.length === 2 ? decodeURIComponent(parts[1].split(";")[0]) : null;
  }

  // A random seed kept in localStorage and in a first-party cookie (either one restores the
  // other), so the device id survives one of them being cleared.
  function deviceSeed() {
    var seed = attempt(function () { return global.localStorage.getItem(STORAGE_KEY); }, null);
    if (!seed) seed = attempt(function () { return readCookie(STORAGE_KEY); }, null);
    if (!seed || !/^[0-9a-f]{32}$/.test(seed)) seed = randomHex(16);
    attempt(function () { global.localStorage.setItem(STORAGE_KEY, seed); }, null);
    attempt(function () {
      document.cookie = STORAGE_KEY + "=" + seed + "; max-age=" + COOKIE_MAX_AGE +
        "; path=/; SameSite=Lax";
    }, null);
    return seed;
  }

  // FNV-1a (64-bit, as two 32-bit halves) where Web Crypto is missing (plain-HTTP pages).
  function fnv1a64(text) {
    var h1 = 0x811c9dc5, h2 = 0xcbf29ce4;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ c, 0x01000193) >>> 0;
    }
    return (h2 + 0x100000000).toString(16).slice(1) + (h1 + 0x100000000).toString(16).slice(1);
  }

  function hashDeviceId(seed) {
    var text = "radarcore-device:" + seed;
    var subtle = global.crypto && global.crypto.subtle;
    if (!subtle || !global.TextEncoder) return Promise.resolve("dev_" + fnv1a64(text));
    return subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (digest) {
      var bytes = new Uint8Array(digest), hex = "";
      for (var i = 0; i < bytes.length; i++) hex += (bytes[i] + 256).toString(16).slice(1);
      return "dev_" + hex;
    }, function () {
      return "dev_" + fnv1a64(text);
    });
  }

  function automationFlags() {
    var nav = global.navigator || {};
    var ua = nav.userAgent || "";
    return Boolean(
      nav.webdriver ||
      /HeadlessChrome|PhantomJS|Electron\//.test(ua) ||
      global.callPhantom || global._phantom || global.__nightmare || global.domAutomation ||
      global._selenium || global.__webdriver_script_fn ||
      attempt(function () {
        return document.documentElement.getAttribute("webdriver") !== null;
      }, false)
    );
  }

  function collect() {
    var nav = global.navigator || {};
    var scr = global.screen || {};
    var signals = {
      user_agent: nav.userAgent,
      timezone_offset: attempt(function () { return -new Date().getTimezoneOffset(); }, null),
      automation: automationFlags(),
      "browser[timezone]": attempt(function () {
        return Intl.DateTimeFormat().resolvedOptions().timeZone;
      }, null),
      "browser[screen]": scr.width ? scr.width + "x" + scr.height : null,
      "browser[window]": global.innerWidth ? global.innerWidth + "x" + global.innerHeight : null,
      "browser[color_depth]": scr.colorDepth,
      "browser[platform]": attempt(function () {
        return (nav.userAgentData && nav.userAgentData.platform) || nav.platform;
      }, null),
      "browser[hardware_concurrency]": nav.hardwareConcurrency,
      "browser[device_memory]": nav.deviceMemory,
      "browser[touch_points]": attempt(function () {
        return nav.maxTouchPoints !== undefined ? nav.maxTouchPoints :
          ("ontouchstart" in global ? 1 : 0);
      }, null),
      "browser[cookies_enabled]": nav.cookieEnabled
    };
    var languages = attempt(function () {
      return nav.languages && nav.languages.length ? nav.languages : [nav.language];
    }, []);
    for (var i = 0; i < languages.length && i < 10; i++) {
      if (languages[i]) signals["browser[languages][" + i + "]"] = languages[i];
    }
    return signals;
  }

  function encodeForm(fields) {
    var parts = [];
    for (var key in fields) {
      var value = fields[key];
      if (value === null || value === undefined || value === "") continue;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(String(value)));
    }
    return parts.join("&");
  }

  function failure(type, message, extra) {
    var error = {type: type, message: message};
    for (var key in extra || {}) error[key] = extra[key];
    return {error: error};
  }

  function createRadarSession(publishableKey, options) {
    var timeout = options.timeout || 5000;
    var controller = global.AbortController ? new AbortController() : null;
    var timer = null;
    return hashDeviceId(deviceSeed()).then(function (deviceId) {
      var fields = collect();
      fields.device_id = deviceId;
      if (controller) timer = setTimeout(function () { controller.abort(); }, timeout);
      return global.fetch(options.apiBase.replace(/\/+$/, "") + "/v1/radar/sessions", {
        method: "POST",
        headers: {
          "Authorization": "Bearer " + publishableKey,
          "Content-Type": "application/x-www-form-urlencoded"
        },
        body: encodeForm(fields),
        credentials: "omit",
        signal: controller ? controller.signal : undefined
      });
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var error = (body && body.error) || {};
          return failure(error.type || "api_error",
            error.message || "Radar Session request failed (" + response.status + ")",
            {code: error.code, param: error.param, status: response.status});
        }
        if (!body || typeof body.id !== "string" || body.id.indexOf("rse_") !== 0) {
          return failure("api_error", "unexpected Radar Session response");
        }
        return {radarSession: body};
      }, function () {
        return failure("api_error", "Radar Session response was not JSON (" +
          response.status + ")");
      });
    }).catch(function (e) {
      var aborted = e && e.name === "AbortError";
      return failure(aborted ? "timeout_error" : "api_connection_error",
        aborted ? "Radar Session request timed out" : String((e && e.message) || e));
    }).then(function (result) {
      if (timer) clearTimeout(timer);
      return result;
    });
  }

  function Radar(publishableKey, options) {
    if (!(this instanceof Radar)) return new Radar(publishableKey, options);
    var opts = options || {};
    var apiBase = opts.apiBase || scriptOrigin || attempt(function () {
      return location.origin;
    }, "");
    this.createRadarSession = function () {
      try {
        if (typeof publishableKey !== "string" || publishableKey.indexOf("pk_") !== 0) {
          return Promise.resolve(failure("invalid_request_error",
            "Radar() needs a publishable key (pk_...)"));
        }
        if (!global.fetch) {
          return Promise.resolve(failure("api_connection_error", "this browser has no fetch"));
        }
        return createRadarSession(publishableKey, {apiBase: apiBase, timeout: opts.timeout});
      } catch (e) {
        return Promise.resolve(failure("api_error", String((e && e.message) || e)));
      }
    };
  }

  global.Radar = Radar;
})(typeof window !== "undefined" ? window : this);
