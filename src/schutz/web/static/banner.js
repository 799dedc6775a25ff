/* Enhances the cookie banner and the two-click embeds of Schutz. Everything works without
   it: the forms post and the server answers with a redirect. With it, the same form is sent
   in the background, the banner closes in place, and an allowed embed loads where it is. */
(function () {
  "use strict";

  function send(form, submitter) {
    var body = new URLSearchParams(new FormData(form, submitter));
    // getAttribute: a control named "action" (the banner has one) shadows form.action.
    return fetch(form.getAttribute("action") || location.pathname, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("status " + response.status); }
      return response.json();
    });
  }

  function startTracking() {
    if (document.querySelector("script[data-track]")) { return; }
    var script = document.createElement("script");
    script.src = "/static/track.js";
    script.setAttribute("data-track", "");
    document.head.appendChild(script);
  }

  function loadEmbed(placeholder) {
    var frame = document.createElement("iframe");
    frame.src = placeholder.getAttribute("data-embed-src");
    frame.title = placeholder.getAttribute("data-embed-title");
    frame.height = placeholder.getAttribute("data-embed-height");
    frame.setAttribute("referrerpolicy", "strict-origin");
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups");
    placeholder.replaceWith(frame);
  }

  function postPlainly(form, submitter) {
    if (submitter && submitter.name) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = submitter.name;
      field.value = submitter.value;
      form.appendChild(field);
    }
    form.submit();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var banner = form.closest("[data-cookie-banner]");
    var embed = form.hasAttribute("data-embed-load");
    if (!banner && !embed) { return; }
    event.preventDefault();
    var submitter = event.submitter || null;
    send(form, submitter).then(function (data) {
      var allowed = data.allowed || [];
      if (banner) {
        var hadFocus = banner.contains(document.activeElement);
        banner.remove();
        var main = document.getElementById("main");
        if (hadFocus && main) { main.setAttribute("tabindex", "-1"); main.focus(); }
      }
      if (allowed.indexOf("analytics") !== -1) { startTracking(); }
      var services = data.services || [];
      document.querySelectorAll(".embed-placeholder").forEach(function (placeholder) {
        if (allowed.indexOf("embeds") !== -1 ||
            services.indexOf(placeholder.getAttribute("data-embed-key")) !== -1) {
          loadEmbed(placeholder);
        }
      });
    }).catch(function () { postPlainly(form, submitter); });
  });
})();
