// Copy buttons: a button with data-copy="ID" copies the text of element ID.
// The buttons are hidden until this script shows them, so the page works
// without it (the text can be selected and copied by hand).
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (btn) {
  var target = document.getElementById(btn.getAttribute("data-copy"));
  if (!target || !navigator.clipboard) {
    return;
  }
  btn.hidden = false;
  btn.addEventListener("click", function () {
    navigator.clipboard.writeText(target.textContent).then(function () {
      btn.textContent = "Copied";
    }, function () {
      btn.textContent = "Copy failed: select the text";
    });
  });
});
