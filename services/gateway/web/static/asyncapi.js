// Renders the AsyncAPI document embedded in the page with the locally served AsyncAPI React component.
(function () {
  "use strict";
  var schema = JSON.parse(document.getElementById("asyncapi-schema").textContent);
  window.AsyncApiStandalone.render(
    { schema: schema, config: { show: { sidebar: true, errors: true } } },
    document.getElementById("asyncapi")
  );
})();
