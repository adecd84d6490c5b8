// Copy buttons: every element marked `data-copy` (a new token, a webhook
// secret or URL) gets a button that puts its text on the clipboard. The
// pages work without this script: the text is shown, selectable.
(function () {
  "use strict";
  if (!navigator.clipboard) {
    return;
  }
  var marked = document.querySelectorAll("[data-copy]");
  Array.prototype.forEach.call(marked, function (el) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + (el.dataset.copy || "this"));
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(el.textContent.trim()).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy it"; }
      );
    });
    el.insertAdjacentElement("afterend", button);
  });
})();
