#!lua flags=no-writes
-- Read the pupils of one batch in one call: each pupil's revision and the fields asked for (HMGET),
-- or its whole hash (HGETALL) when the batch moves every part.
--
-- KEYS = the pupil hashes (all of one Trust, so of one cluster slot; the shebang makes Redis check).
-- ARGV[1] = NUL-separated: per pupil n, then n field names (n = 0: the whole hash). One string cut
-- with a plain find: cheaper than JSON in Lua, or than one argument per name.
-- Returns, per pupil in order: {rev, value, ...} (false where absent) or the HGETALL list.
local blob = ARGV[1]
local at = 1
local function read()
  local stop = string.find(blob, '\0', at, true)
  local token = string.sub(blob, at, stop - 1)
  at = stop + 1
  return token
end

local replies = {}
for p = 1, #KEYS do
  local n = tonumber(read())
  if n == 0 then
    replies[p] = redis.call('HGETALL', KEYS[p])
  else
    local fields = {'rev'}
    for i = 1, n do
      fields[i + 1] = read()
    end
    replies[p] = redis.call('HMGET', KEYS[p], unpack(fields))
  end
end
return replies
