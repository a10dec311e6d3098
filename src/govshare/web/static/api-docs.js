/* The API documentation page: Swagger UI (the npm package swagger-ui-dist, served from
   /vendor/swagger-ui) on the platform's OpenAPI description. Loaded as a file (CSP
   script-src 'self'): no inline code; the description's URL comes from the page. */
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  if (!box || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: box.getAttribute("data-spec-url"),
    domNode: box,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
