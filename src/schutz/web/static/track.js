/* Schutz first-party analytics: one beacon per page view with path, referrer and time.
   The server includes this file only after analytics consent; it still stays silent under
   Global Privacy Control or Do-Not-Track. Nothing goes to another host. */
(function () {
  "use strict";
  var nav = navigator;
  if (nav.globalPrivacyControl || nav.doNotTrack === "1" || window.doNotTrack === "1") { return; }
  var body = JSON.stringify({
    path: location.pathname,
    referrer: document.referrer,
    time: new Date().toISOString()
  });
  try {
    if (nav.sendBeacon && nav.sendBeacon("/api/v1/collect", new Blob([body], { type: "application/json" }))) { return; }
  } catch (e) { /* fall through to fetch */ }
  fetch("/api/v1/collect", {
    method: "POST",
    body: body,
    credentials: "same-origin",
    keepalive: true,
    headers: { "Content-Type": "application/json" }
  }).catch(function () {});
})();
