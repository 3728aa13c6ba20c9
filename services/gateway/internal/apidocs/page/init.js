// Renders the API reference from the spec this gateway serves.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#api-reference",
  deepLinking: true,
  persistAuthorization: true,
});
