/*
 * Reports files over the upload limit. dcc.Upload silently ignores a file larger than its
 * max_size; this listener tells the server (through a dcc.Store) so the page can say why.
 * The limit comes from the data-max-bytes attribute of the wrapper around the upload area, the
 * store from its data-rejected-store attribute (default: the Data page's "upload-rejected").
 * The server enforces the same limit on its own; this only gives the user a message.
 */
(function () {
    "use strict";

    function guardOf(target) {
        return target && target.closest ? target.closest("[data-max-bytes]") : null;
    }

    function check(guard, files) {
        if (!guard || !files || !files.length || !window.dash_clientside) {
            return;
        }
        var limit = Number(guard.getAttribute("data-max-bytes"));
        var file = files[0];
        if (limit > 0 && file.size > limit) {
            // The store to tell: the wrapper's data-rejected-store (another page's upload
            // area), else the Data page's.
            var store = guard.getAttribute("data-rejected-store") || "upload-rejected";
            window.dash_clientside.set_props(store, {
                data: {name: String(file.name).slice(0, 200), size: file.size, at: Date.now()}
            });
        }
    }

    document.addEventListener("change", function (event) {
        var guard = guardOf(event.target);
        if (guard && event.target.type === "file") {
            check(guard, event.target.files);
        }
    }, true);

    document.addEventListener("drop", function (event) {
        var guard = guardOf(event.target);
        if (guard && event.dataTransfer) {
            check(guard, event.dataTransfer.files);
        }
    }, true);
})();
