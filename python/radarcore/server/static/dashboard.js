// The dashboard's only script: the rules editor's inline syntax check as the analyst types.
(function () {
  "use strict";
  var text = document.getElementById("rules-text");
  if (!text) return;
  var box = document.getElementById("rule-error");
  var save = document.getElementById("save-rules");
  var form = document.getElementById("rules-form");
  var checkedText = text.value;
  var timer = null;

  function show(error) {
    box.textContent = "";
    if (!error) { box.classList.add("hidden"); return; }
    box.classList.remove("hidden");
    box.appendChild(document.createTextNode(error.message));
    if (error.line) {
      var line = text.value.split("\n")[error.line - 1] || "";
      var pre = document.createElement("pre");
      pre.className = "caret";
      pre.textContent = line + "\n" + " ".repeat(error.column - 1) + "^";
      box.appendChild(pre);
    }
  }

  function check() {
    var body = new URLSearchParams();
    body.set("csrf", form.elements.csrf.value);
    body.set("rules", text.value);
    fetch(text.dataset.checkUrl, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (result) { show(result.error); })
      .catch(function () { /* the server check on submit still applies */ });
  }

  text.addEventListener("input", function () {
    if (save) save.disabled = text.value !== checkedText || !form.elements.checked.value;
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
})();
