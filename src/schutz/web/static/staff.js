// Staff console: close an open menu when the user clicks elsewhere or presses Escape.
(function () {
  "use strict";
  function openMenus() {
    return Array.prototype.slice.call(document.querySelectorAll("details.dropdown[open]"));
  }
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    openMenus().forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) { summary.focus(); }
    });
  });
  // Opening one menu closes the other.
  document.querySelectorAll("details.dropdown").forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (!menu.open) { return; }
      openMenus().forEach(function (other) { if (other !== menu) { other.removeAttribute("open"); } });
    });
  });
})();
