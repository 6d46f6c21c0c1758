/*
 * Live Markdown preview for the admin (vendored, no dependencies, no CDN).
 *
 * Every textarea with a data-preview-url (the Markdown fields) gets a pane under it; as the
 * editor types, the text is POSTed to that admin endpoint, which answers with the HTML the
 * public page would show (same renderer and sanitiser), and the pane shows it. The answer is
 * sanitised on the server, so inserting it as HTML is safe. No inline handlers or styles:
 * the page's Content-Security-Policy can forbid both.
 */
(function () {
    "use strict";

    var DELAY = 300; // ms after the last keystroke: one request per pause, not per key

    function csrfToken(textarea) {
        var form = textarea.form || document;
        var input = form.querySelector("input[name=csrfmiddlewaretoken]");
        return input ? input.value : "";
    }

    function attach(textarea) {
        if (textarea.dataset.previewAttached) {
            return;
        }
        textarea.dataset.previewAttached = "1";
        var pane = document.createElement("div");
        pane.className = "markdown-preview markdown-live-preview";
        pane.setAttribute("aria-live", "polite");
        pane.setAttribute("aria-label", "Preview");
        textarea.insertAdjacentElement("afterend", pane);

        var timer = null;
        var latest = 0;

        function render() {
            var request = ++latest;
            var body = new URLSearchParams();
            body.append("text", textarea.value);
            fetch(textarea.dataset.previewUrl, {
                method: "POST",
                credentials: "same-origin",
                headers: {"X-CSRFToken": csrfToken(textarea)},
                body: body
            }).then(function (response) {
                return response.ok ? response.text() : Promise.reject(response.status);
            }).then(function (html) {
                if (request === latest) { // an older, slower answer must not overwrite a newer one
                    pane.innerHTML = html;
                }
            }).catch(function () {
                pane.textContent = "The preview is unavailable right now.";
            });
        }

        textarea.addEventListener("input", function () {
            clearTimeout(timer);
            timer = setTimeout(render, DELAY);
        });
        if (textarea.value) {
            render();
        }
    }

    function attachAll(root) {
        var boxes = (root || document).querySelectorAll("textarea[data-preview-url]");
        Array.prototype.forEach.call(boxes, function (textarea) {
            // The hidden template row of an inline ("__prefix__") is cloned later, not edited.
            if (textarea.name.indexOf("__prefix__") === -1) {
                attach(textarea);
            }
        });
    }

    document.addEventListener("DOMContentLoaded", function () {
        attachAll(document);
    });
    // Rows added with "Add another" in an inline (Django's formset event).
    document.addEventListener("formset:added", function (event) {
        attachAll(event.target);
    });
}());
