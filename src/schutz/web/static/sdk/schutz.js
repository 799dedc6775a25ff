/* Schutz for any site: the consent banner, script and iframe blocking, Google Consent Mode v2
   and first-party analytics, in one dependency-free file. Until the visitor chooses, nothing
   marked type="text/plain" data-schutz-category runs and no iframe data-schutz-src loads.
   Each choice is kept in the first-party cookie schutz_consent (a random id, the registry
   version and the answers) and sent to Schutz, which keeps it as proof. Docs: docs/embed.md */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.Schutz) { return; }
  var d = document, w = window, nav = navigator;
  var base = new URL(me.src, location.href).origin;
  var site = me.getAttribute("data-schutz-site") || "";
  var google = me.getAttribute("data-schutz-consent-mode") === "google";
  var beacon = me.hasAttribute("data-schutz-analytics");
  var lang = (me.getAttribute("data-schutz-lang") || d.documentElement.lang || "en").slice(0, 2).toLowerCase() === "de" ? "de" : "en";
  var gpc = nav.globalPrivacyControl === true;
  var dnt = nav.doNotTrack === "1" || w.doNotTrack === "1";
  var NAME = "schutz_consent";
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var reg = null, choice = null, sheet = null, before = null, lastPath = null;
  var ready = Promise.resolve();

  /* Google Consent Mode v2: every signal denied, before any other tag can run. */
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  var SIGNALS = ["ad_storage", "ad_user_data", "ad_personalization", "analytics_storage",
    "functionality_storage", "personalization_storage", "security_storage"];
  function signals(value) {
    var out = {};
    SIGNALS.forEach(function (s) { out[s] = typeof value === "function" ? value(s) : value; });
    return out;
  }
  if (google) { gtag("consent", "default", signals("denied")); }

  function el(tag, attrs, text) {
    var e = d.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  function t(key, provider) { return (reg.text[key] || key).replace("{provider}", provider || ""); }
  function newId() {
    var bytes = new Uint8Array(16);
    (w.crypto || w.msCrypto).getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").slice(0, 22);
  }

  /* The cookie, in the format Schutz's own pages use (cookies/choices.py): the random id,
     the registry version, a letter and digit per category (a1e0p0), ~service1 per provider
     chosen alone; !category1 for a category of the operator's own. First-party, never sent
     to Schutz. */
  var LETTER = { analytics: "a", embeds: "e", preferences: "p" };
  var VALUE = /^([A-Za-z0-9_-]{16,64})\.([0-9A-Za-z._-]{1,40})\.((?:[aep][01])*)((?:![a-z][a-z0-9_]{0,30}[01])*)((?:~[a-z][a-z0-9_]{0,39}[01])*)$/;
  function readCookie() {
    var found = d.cookie.split("; ").filter(function (c) { return c.indexOf(NAME + "=") === 0; })[0];
    var m = found && VALUE.exec(found.slice(NAME.length + 1));
    if (!m) { return null; }
    var c = { id: m[1], version: m[2], categories: {}, services: {} };
    Object.keys(LETTER).forEach(function (k) {
      var at = m[3].indexOf(LETTER[k]);
      if (at !== -1 && at % 2 === 0) { c.categories[k] = m[3].charAt(at + 1) === "1"; }
    });
    m[4].split("!").forEach(function (s) { if (s) { c.categories[s.slice(0, -1)] = s.slice(-1) === "1"; } });
    m[5].split("~").forEach(function (s) { if (s) { c.services[s.slice(0, -1)] = s.slice(-1) === "1"; } });
    return c;
  }
  function writeCookie(c) {
    var value = c.id + "." + c.version + ".";
    Object.keys(c.categories).sort().forEach(function (k) { if (LETTER[k]) { value += LETTER[k] + (c.categories[k] ? 1 : 0); } });
    Object.keys(c.categories).sort().forEach(function (k) { if (!LETTER[k] && /^[a-z][a-z0-9_]{0,30}$/.test(k)) { value += "!" + k + (c.categories[k] ? 1 : 0); } });
    Object.keys(c.services).sort().forEach(function (k) { value += "~" + k + (c.services[k] ? 1 : 0); });
    d.cookie = NAME + "=" + value + "; Max-Age=" + reg.consent_cookie.max_age + "; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  function undecided() {
    return !choice || reg.categories.some(function (c) { return !(c.key in choice.categories); });
  }
  function grants(c, category, service) {
    if (!c) { return false; }
    if (service && Object.prototype.hasOwnProperty.call(c.services, service)) { return c.services[service]; }
    return c.categories[category] === true;
  }
  function allowed(category, service) { return grants(choice, category, service); }

  /* Blocked scripts and iframes. */
  function runScripts() {
    d.querySelectorAll('script[type="text/plain"][data-schutz-category]:not([data-schutz-done])').forEach(function (old) {
      if (!allowed(old.getAttribute("data-schutz-category"), old.getAttribute("data-schutz-service"))) { return; }
      old.setAttribute("data-schutz-done", "");
      var s = d.createElement("script");
      Array.prototype.forEach.call(old.attributes, function (a) {
        if (a.name !== "type" && a.name.indexOf("data-schutz-") !== 0) { s.setAttribute(a.name, a.value); }
      });
      if (old.src) { s.async = false; } else { s.textContent = old.textContent; }
      old.parentNode.insertBefore(s, old.nextSibling);
    });
  }
  function service(key) {
    return reg.services.filter(function (s) { return s.key === key; })[0] || { key: key, provider: key, name: key };
  }
  function frames() {
    d.querySelectorAll("iframe[data-schutz-src]").forEach(function (frame) {
      var cat = frame.getAttribute("data-schutz-category") || "embeds";
      var key = frame.getAttribute("data-schutz-service") || "";
      var ph = frame.previousElementSibling;
      var hasPh = ph && ph.hasAttribute("data-schutz-placeholder");
      if (allowed(cat, key)) {
        if (hasPh) { ph.remove(); }
        frame.src = frame.getAttribute("data-schutz-src");
        frame.removeAttribute("data-schutz-src");
        frame.hidden = false;
        return;
      }
      if (hasPh) { return; }
      var svc = service(key);
      frame.hidden = true;
      var box = el("div", { "class": "schutz-ph", "data-schutz-placeholder": key, role: "group", "aria-label": svc.name });
      box.appendChild(el("p", {}, t("placeholder", svc.provider)));
      if (svc.sends) { box.appendChild(el("p", {}, svc.sends)); }
      var load = el("button", { type: "button", "class": "schutz-btn" }, t("load", svc.provider));
      load.addEventListener("click", function () {
        var services = {};
        services[key] = true;
        decide(null, services);
      });
      box.appendChild(load);
      if (svc.privacy_policy_url) {
        box.appendChild(el("a", { href: svc.privacy_policy_url, rel: "noopener noreferrer nofollow" }, t("policy")));
      }
      box.appendChild(el("p", { "class": "schutz-note" }, t("load_note", svc.provider)));
      frame.parentNode.insertBefore(box, frame);
    });
  }

  /* Proof on the server, the Consent Mode update, the event, the beacon. */
  function post(path, body) {
    return fetch(base + path, {
      method: "POST", mode: "cors", credentials: "omit", keepalive: true,
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    });
  }
  function apply() {
    if (google) {
      gtag("consent", "update", signals(function (s) {
        var on = s === "analytics_storage" ? allowed("analytics")
          : s === "functionality_storage" || s === "personalization_storage" ? allowed("preferences")
          : s === "security_storage";
        return on ? "granted" : "denied";
      }));
    }
    runScripts();
    frames();
  }
  function decide(categories, services) {
    var old = choice && choice.version === reg.version ? choice : null;
    var had = choice;
    var next = {
      id: (old || readCookie() || {}).id || newId(),
      version: reg.version,
      categories: categories || (old ? old.categories : {}),
      /* A decision about whole categories replaces the answers given provider by provider. */
      services: Object.assign({}, categories || !old ? {} : old.services, services || {})
    };
    function each(test) {
      return reg.categories.some(function (c) { return test(c.key); }) ||
        reg.services.some(function (v) { return test(v.category, v.key); });
    }
    var widens = each(function (c, v) { return !grants(had, c, v) && grants(next, c, v); });
    /* What already ran cannot be stopped: after taking consent back, load the page afresh. */
    var revoked = each(function (c, v) { return grants(had, c, v) && !grants(next, c, v); });
    var proof = post("/api/v1/visitor-consents", {
      site: site, visitor: next.id, version: reg.version, wording_hash: reg.wording_hash,
      lang: reg.lang, categories: next.categories, services: next.services, gpc: gpc
    }).then(function (r) {
      if (r.status === 409) { load(true); }
      if (!r.ok) { throw new Error("schutz: the choice was not recorded (" + r.status + ")"); }
    });
    function commit() {
      choice = next;
      writeCookie(choice);
      if (!undecided()) { close(); }
      apply();
      pageView();
      d.dispatchEvent(new CustomEvent("schutz:consent", { detail: api.consent }));
    }
    if (widens) {
      /* Nothing runs on a "yes" until the server has kept its proof; without it, nothing. */
      ready = proof.then(function () {
        commit();
        if (revoked) { location.reload(); }
      }, function (e) { if (w.console) { w.console.warn(e.message); } });
      return;
    }
    commit();
    ready = proof.catch(function () {});
    if (revoked) { ready.then(function () { location.reload(); }); }
  }
  function counting() { return beacon && !gpc && !dnt && allowed("analytics", "schutz_analytics"); }
  function collect(extra) {
    var body = { site: site, visitor: choice.id, path: location.pathname, referrer: d.referrer };
    Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
    /* In order, and only once the proof is recorded: Schutz counts only visitors the ledger
       says agreed. */
    ready = ready.then(function () { return post("/api/v1/collect", body); }).catch(function () {});
  }
  function pageView() {
    if (!choice || !counting() || lastPath === location.pathname) { return; }
    var utm = {}, q = new URLSearchParams(location.search);
    UTM.forEach(function (k) { if (q.get(k)) { utm[k] = q.get(k).slice(0, 100); } });
    lastPath = location.pathname;
    collect({ utm: utm });
  }
  ["pushState", "replaceState"].forEach(function (m) {
    var orig = history[m];
    history[m] = function () { var r = orig.apply(this, arguments); pageView(); return r; };
  });
  w.addEventListener("popstate", pageView);

  /* The banner: a bottom sheet, Accept and Reject alike, categories behind Customise. */
  function close() {
    if (!sheet) { return; }
    var had = sheet.contains(d.activeElement);
    sheet.remove();
    sheet = null;
    if (had && before && before.focus) { before.focus(); }
  }
  function open() {
    if (!reg) { return; }
    close();
    before = d.activeElement;
    var current = choice || {};
    sheet = el("div", { "class": "schutz-sheet", role: "dialog", "aria-modal": "false", "aria-labelledby": "schutz-title", "aria-describedby": "schutz-intro", lang: reg.lang });
    var title = el("h2", { id: "schutz-title", tabindex: "-1" }, t("title"));
    sheet.appendChild(title);
    sheet.appendChild(el("p", { id: "schutz-intro" }, t("intro")));
    if (gpc) { sheet.appendChild(el("p", { "class": "schutz-gpc", role: "note" }, t("gpc"))); }
    var form = el("form", { "class": "schutz-more", hidden: "" });
    var group = el("fieldset");
    group.appendChild(el("legend", {}, t("customise")));
    var rows = [{ key: "essential", name: t("essential"), description: t("essential_desc"), fixed: true }].concat(reg.categories);
    rows.forEach(function (c) {
      var id = "schutz-c-" + c.key;
      var box = el("input", { type: "checkbox", id: id, name: c.key });
      if (c.fixed) { box.checked = true; box.disabled = true; } else {
        box.checked = current.categories ? current.categories[c.key] === true : false;
      }
      var row = el("div", { "class": "schutz-row" });
      row.appendChild(box);
      row.appendChild(el("label", { "for": id }, c.name));
      var who = reg.services.filter(function (s) { return s.category === c.key; }).map(function (s) { return s.name; }).join(", ");
      row.appendChild(el("p", {}, c.description + (who ? " (" + who + ")" : "")));
      group.appendChild(row);
    });
    form.appendChild(group);
    form.appendChild(el("button", { type: "submit", "class": "schutz-btn" }, t("save")));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var cats = {};
      reg.categories.forEach(function (c) { cats[c.key] = form.elements[c.key].checked; });
      decide(cats, {});
    });
    var bar = el("div", { "class": "schutz-bar" });
    var reject = el("button", { type: "button", "class": "schutz-btn", "data-consent-reject": "" }, t("reject"));
    var more = el("button", { type: "button", "class": "schutz-btn", "aria-expanded": "false" }, t("customise"));
    var accept = el("button", { type: "button", "class": "schutz-btn", "data-consent-accept": "" }, t("accept"));
    function all(value) {
      var cats = {};
      reg.categories.forEach(function (c) { cats[c.key] = value; });
      return cats;
    }
    reject.addEventListener("click", function () { decide(all(false), {}); });
    accept.addEventListener("click", function () { decide(all(true), {}); });
    more.addEventListener("click", function () {
      var shown = form.hidden;
      form.hidden = !shown;
      more.setAttribute("aria-expanded", String(shown));
      if (shown) { form.querySelector("input:not([disabled])").focus(); }
    });
    [reject, more, accept].forEach(function (b) { bar.appendChild(b); });
    sheet.appendChild(bar);
    sheet.appendChild(form);
    var link = el("a", { href: base + "/privacy?lang=" + reg.lang }, t("policy"));
    sheet.appendChild(el("p", { "class": "schutz-note" })).appendChild(link);
    d.body.appendChild(sheet);
    title.focus();
  }
  var CSS = ".schutz-sheet{position:fixed;left:50%;bottom:0;transform:translateX(-50%);z-index:2147483000;box-sizing:border-box;width:100%;max-width:40rem;max-height:80vh;overflow:auto;background:#fff;color:#111;border:2px solid #111;border-bottom:0;border-radius:.5rem .5rem 0 0;padding:1rem 1.25rem;font:16px/1.45 system-ui,sans-serif;box-shadow:0 -.25rem 1rem rgba(0,0,0,.25)}" +
    ".schutz-sheet h2{font-size:1.15rem;margin:0 0 .5rem}.schutz-sheet p{margin:.4rem 0}.schutz-bar{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0}" +
    ".schutz-btn{flex:1 1 8rem;font:inherit;font-weight:600;padding:.55rem .9rem;border:2px solid #111;border-radius:.3rem;background:#fff;color:#111;cursor:pointer}" +
    ".schutz-btn:hover{background:#eee}.schutz-sheet :focus-visible,.schutz-ph :focus-visible{outline:3px solid #1a56db;outline-offset:2px}" +
    ".schutz-sheet fieldset{border:1px solid #777;margin:.5rem 0;padding:.5rem .75rem}.schutz-row{margin:.4rem 0}.schutz-row label{font-weight:600;margin-left:.4rem}" +
    ".schutz-row p,.schutz-note{font-size:.875rem;color:#333}.schutz-gpc{border-left:4px solid #1a56db;padding-left:.5rem}" +
    ".schutz-sheet a,.schutz-ph a{color:#1a3fa0}.schutz-ph{border:2px dashed #555;padding:1rem;margin:.5rem 0;background:#f6f6f6;color:#111}";

  function load(again) {
    fetch(base + "/api/v1/sites/" + encodeURIComponent(site) + "/registry?lang=" + lang, { mode: "cors", credentials: "omit" })
      .then(function (r) { if (!r.ok) { throw new Error("registry " + r.status); } return r.json(); })
      .then(function (data) {
        reg = data;
        if (!d.getElementById("schutz-css")) { d.head.appendChild(el("style", { id: "schutz-css" }, CSS)); }
        var stored = readCookie();
        choice = stored && stored.version === reg.version ? stored : null;
        if (choice) { apply(); pageView(); } else { frames(); }
        if (again || undecided()) { open(); }
      })
      .catch(function () { /* Schutz unreachable: everything stays blocked. */ });
  }

  var api = {
    get consent() {
      return choice ? { categories: Object.assign({}, choice.categories), services: Object.assign({}, choice.services), version: choice.version } : null;
    },
    open: open,
    track: function (name, props) {
      if (choice && counting() && typeof name === "string") { collect({ event: name.slice(0, 64), props: props || {} }); }
    }
  };
  w.Schutz = api;
  d.addEventListener("click", function (e) {
    var opener = e.target.closest && e.target.closest("[data-schutz-open]");
    if (opener) { e.preventDefault(); open(); }
  });
  if (d.readyState === "loading") { d.addEventListener("DOMContentLoaded", function () { load(false); }); } else { load(false); }
})();
