// Keeps what a person typed into a form sent after their session ended: the server acts on nothing sent without a
// session and sends the browser to sign in, then back to the form's page. The fields are kept in this tab's
// sessionStorage only (never in an address, a cookie or the server), from the moment the form is sent until the next
// page opens; the sign-in page holds them, the next page of the same person (data-viewer-mark) with a form of the
// same action fills them back in and says so, and any other page drops them. Never kept: the CSRF token and the
// form's one-time key (the new page's are sent), passwords, files, and hidden fields other than the page's `was.*`
// (what the page showed, so the stale-page check still judges what the person saw when typing).
(function () {
  "use strict";
  var KEY = "chibo.kept-form";
  var KEPT_MS = 15 * 60 * 1000;
  var NEVER = { csrf: true, form_key: true };
  var body = document.body;
  var mark = body.getAttribute("data-viewer-mark");

  function storage() {
    try { return window.sessionStorage; } catch (error) { return null; }
  }
  var store = storage();
  if (!store) { return; }

  function actionOf(form) {
    return new URL(form.getAttribute("action") || window.location.href, window.location.href).pathname;
  }

  function kept(element) {
    if (!element.name || element.disabled || NEVER[element.name]) { return false; }
    var type = (element.type || "").toLowerCase();
    if (type === "password" || type === "file" || type === "submit" || type === "button" || type === "reset") {
      return false;
    }
    return type !== "hidden" || element.name.indexOf("was.") === 0;
  }

  function fieldsOf(form) {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element)) { return; }
      var type = (element.type || "").toLowerCase();
      if (type === "checkbox" || type === "radio") {
        if (element.checked) { fields.push([element.name, element.value]); }
      } else if (type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) {
          if (option.selected) { fields.push([element.name, option.value]); }
        });
      } else {
        fields.push([element.name, element.value]);
      }
    });
    return fields;
  }

  function fill(form, fields) {
    var values = {};
    fields.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
    var used = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element) || !Object.prototype.hasOwnProperty.call(values, element.name)) { return; }
      var sent = values[element.name];
      var type = (element.type || "").toLowerCase();
      if (type === "checkbox" || type === "radio") {
        element.checked = sent.indexOf(element.value) !== -1;
      } else if (type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = sent.indexOf(option.value) !== -1;
        });
      } else {
        var index = used[element.name] || 0;  // fields of one name, in the page's order
        used[element.name] = index + 1;
        if (index < sent.length) { element.value = sent[index]; }
      }
    });
    // a checkbox or radio group left unticked was sent as nothing: unticked again
    Array.prototype.forEach.call(form.elements, function (element) {
      var type = (element.type || "").toLowerCase();
      if ((type === "checkbox" || type === "radio") && kept(element) && !values[element.name]) {
        element.checked = false;
      }
    });
  }

  function read() {
    try {
      var draft = JSON.parse(store.getItem(KEY) || "null");
      return draft && Date.now() - draft.at < KEPT_MS ? draft : null;
    } catch (error) {
      return null;
    }
  }

  var draft = read();
  var hold = body.getAttribute("data-kept-form") === "hold";
  if (hold) {
    // the sign-in page: a form just sent is held for the page it returns to; anything else is dropped
    if (draft && (draft.state === "sent" || draft.state === "held")) {
      draft.state = "held";
      store.setItem(KEY, JSON.stringify(draft));
    } else {
      store.removeItem(KEY);
    }
  } else {
    store.removeItem(KEY);
    if (draft && draft.state === "held" && mark && draft.mark === mark) {
      var form = Array.prototype.filter.call(document.querySelectorAll("form[method=post]"), function (candidate) {
        return actionOf(candidate) === draft.action;
      })[0];
      var note = document.getElementById("kept-form-note");
      if (form && note) {
        fill(form, draft.fields);
        var shown = note.content.firstElementChild.cloneNode(true);
        form.parentNode.insertBefore(shown, form);
        form.setAttribute("data-kept-form", "restored");
        shown.focus();
      }
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (hold) { return; }  // signing in: the form held stays for the page the sign-in returns to
    var action = actionOf(form);
    if (!mark || form.querySelector("input[type=password]") || /\/sign-(in|out)$/.test(action)) {
      store.removeItem(KEY);  // signing out, or a page of nobody signed in: nothing to keep
      return;
    }
    store.setItem(KEY, JSON.stringify({ state: "sent", at: Date.now(), mark: mark, action: action,
      fields: fieldsOf(form) }));
  });
})();
