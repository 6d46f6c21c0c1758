// The change form of a profile document: who else has it open (polled every 15 s, as
// Wagtail's concurrent-editing notices), and a question before leaving with unsaved changes.
"use strict";
(function () {
  function start() {
    var state = document.querySelector(".document-state[data-presence-url]");
    var form = state ? state.closest("form") : document.querySelector("#content-main form");
    if (!form) return;

    // Unsaved changes: any edit marks the form; submitting it (any button) clears the mark.
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (!dirty) return;
      event.preventDefault();
      event.returnValue = "";  // the browser shows its own "Leave site?" question
    });

    if (!state) return;
    var notice = state.querySelector(".document-state__presence");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    function ping() {
      fetch(state.dataset.presenceUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": token ? token.value : ""},
      }).then(function (response) {
        return response.ok ? response.json() : {others: []};
      }).then(function (data) {
        var names = data.others.map(function (other) { return other.name; });
        notice.hidden = names.length === 0;
        notice.textContent = names.length
          ? "Also editing this profile now: " + names.join(", ") +
            ". Your save is merged with theirs; where you both change the same thing you will be asked to choose."
          : "";
      }).catch(function () { /* offline for a moment: the next ping tries again */ });
    }
    ping();
    window.setInterval(ping, 15000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
