// The Perk extension: starts `perk lsp` (the setting `perk.path`) for .perk files.
'use strict';
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('perk').get('path') || 'perk';
  const server = { command, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient('perk', 'Perk', { run: server, debug: server }, {
    documentSelector: [{ language: 'perk' }],
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
