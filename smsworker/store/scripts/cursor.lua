-- The cursor the scripts with a variable number of arguments read ARGV with, one value after the
-- other, so that no position is computed on either side; store/args.py (ScriptArgs) is the Python
-- half, writing in the same order. Prepended to every script that calls take() (scripts.py).
--   take()      the next value
--   key()       the next value as an index in KEYS: that key, or nil for 0
--   list()      a count, then that many values
--   rows(width) a count, then that many rows of ``width`` values each
--
-- Why: positional arithmetic (``ARGV[i + 7 + n]``) has to be repeated, and kept equal, on both sides;
-- a cursor on both sides keeps the order the only thing they share.

local a = 0
local function take() a = a + 1; return ARGV[a] end
local function key() local n = tonumber(take()); if n > 0 then return KEYS[n] end end
local function list() local out = {}; for n = 1, tonumber(take()) do out[n] = take() end; return out end
local function rows(width)
  local out = {}
  for n = 1, tonumber(take()) do
    local row = {}
    for c = 1, width do row[c] = take() end
    out[n] = row
  end
  return out
end
