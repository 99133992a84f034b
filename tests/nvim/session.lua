-- A scripted Neovim session against `perk lsp` (run by tests/nvim/test_nvim.py): opens a
-- program through editors/nvim's setup, waits for diagnostics, completes a field after
-- `deposit.`, jumps to a definition, and writes what it saw to $OUT as JSON.
local results = { errors = {} }
local function fail(what) table.insert(results.errors, what) end

vim.opt.runtimepath:prepend(os.getenv('EDITORS_NVIM'))
vim.cmd('filetype on')
vim.cmd('runtime! ftdetect/perk.vim')
require('perk').setup({ cmd = { os.getenv('PERK'), 'lsp' } })

vim.cmd('edit ' .. os.getenv('PROGRAM'))
local buf = vim.api.nvim_get_current_buf()
results.filetype = vim.bo[buf].filetype

if not vim.wait(10000, function() return #vim.lsp.buf_get_clients(buf) > 0 end, 20) then fail('no client attached') end
if not vim.wait(10000, function() return #vim.diagnostic.get(buf) > 0 end, 20) then fail('no diagnostics') end
results.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  local lsp = d.user_data and d.user_data.lsp or {}
  table.insert(results.diagnostics, { lnum = d.lnum, col = d.col, message = d.message, code = lsp.code or d.code })
end

-- Type `deposit.` on a new line of the rule's condition, and ask for completion after it.
vim.api.nvim_buf_set_lines(buf, 8, 8, false, { '  when deposit.' })
local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 8, character = 15 } }
local answers = vim.lsp.buf_request_sync(buf, 'textDocument/completion', params, 10000)
results.completion = {}
for _, answer in pairs(answers or {}) do
  local items = answer.result and (answer.result.items or answer.result) or {}
  for _, item in ipairs(items) do table.insert(results.completion, item.label) end
end
if answers == nil then fail('no completion answer') end
vim.api.nvim_buf_set_lines(buf, 8, 9, false, {})

-- On `points` in `credit points 10` (line 11), go to its definition.
vim.api.nvim_win_set_cursor(0, { 11, 10 })
vim.lsp.buf.definition()
if not vim.wait(10000, function() return vim.api.nvim_win_get_cursor(0)[1] ~= 11 end, 20) then fail('no jump') end
local cursor = vim.api.nvim_win_get_cursor(0)
results.definition = { line = cursor[1], col = cursor[2], word = vim.fn.expand('<cword>') }

local f = io.open(os.getenv('OUT'), 'w')
f:write(vim.fn.json_encode(results))
f:close()
vim.cmd('qa!')
