/* The file inputs of forms/_widgets.html: the browser's own button and "No file chosen" speak
 * the browser's language, so the input is hidden behind a Chinese button and this text follows
 * the chosen files. Served from the app (no CDN). */
(function () {
  "use strict";
  function show(input) {
    var holder = input.closest(".malan-file");
    var label = holder && holder.querySelector(".malan-file-name");
    if (!label) { return; }
    var files = input.files || [];
    if (!files.length) {
      label.textContent = label.getAttribute("data-none");
    } else if (files.length === 1) {
      label.textContent = files[0].name;
    } else {
      label.textContent = label.getAttribute("data-many").replace("{n}", String(files.length));
    }
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.classList && input.classList.contains("malan-file-input")) { show(input); }
  });
}());
