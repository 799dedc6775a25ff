/* The shop's own script: an add-to-cart event for Schutz.track, and single-page navigation
   (history.pushState) that Schutz counts as a page view. */
(function () {
  "use strict";
  document.getElementById("add-to-cart").addEventListener("click", function () {
    if (window.Schutz) { window.Schutz.track("add_to_cart", { sku: "CL660HX", price: 69.99 }); }
    document.getElementById("cart-status").textContent = "Added to your cart.";
  });
  document.querySelectorAll("a[data-spa]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      history.pushState({}, "", link.getAttribute("href"));
      document.querySelector("h1").textContent = link.textContent;
    });
  });
})();
