// Renders GraphiQL for kompetanse's /graphql endpoint. Loaded by index.html
// after React, ReactDOM and GraphiQL (UMD globals); kept out of the page so
// that the Content-Security-Policy needs no 'unsafe-inline' for scripts.
(function () {
  'use strict';

  var ENDPOINT = '/graphql';
  var DEFAULT_QUERY = [
    '# Welcome to kompetanse. Press the run',
    '# button (or Ctrl-Enter). Docs: the',
    '# book icon on the left. To act as a',
    '# user: {"Authorization": "Bearer ..."}',
    '# under Headers below.',
    '{',
    '  counties(first: 3) {',
    '    nodes {',
    '      number',
    '      name',
    '    }',
    '  }',
    '}',
    ''
  ].join('\n');

  var fetcher = GraphiQL.createFetcher({ url: ENDPOINT });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      // Headers (e.g. a bearer token) are kept for this tab only, never
      // written to localStorage.
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: false
    })
  );
})();
