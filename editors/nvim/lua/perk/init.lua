-- Starts `perk lsp` for Perk buffers: require('perk').setup({ cmd = { 'perk', 'lsp' } }).
-- Works with Neovim 0.7 (vim.lsp.start_client) and 0.8+ (vim.lsp.start).
local M = {}

local clients = {}

-- Attaches buffer `bufnr` to a `perk lsp` server, one per directory.
function M.attach(bufnr, opts)
  local cmd = (opts and opts.cmd) or { 'perk', 'lsp' }
  local root = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':p:h')
  local config = { name = 'perk', cmd = cmd, root_dir = root, on_attach = opts and opts.on_attach }
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = clients[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    id = vim.lsp.start_client(config)
    clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

function M.setup(opts)
  opts = opts or {}
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'perk',
    callback = function(args)
      M.attach(args.buf, opts)
    end,
  })
end

return M
