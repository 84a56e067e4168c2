-- Read the pupils of one batch in one call: each pupil's revision and the fields asked for (HMGET),
-- or its whole hash (HGETALL) when the batch moves every part.
--
-- ARGV[1] = NUL-separated: per pupil key, n, then n field names (n = 0: the whole hash). One string
-- cut with a plain find: cheaper than JSON in Lua, or than one argument per piece.
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
while at <= #blob do
  local key, n = read(), tonumber(read())
  if n == 0 then
    replies[#replies + 1] = redis.call('HGETALL', key)
  else
    local fields = {'rev'}
    for i = 1, n do
      fields[i + 1] = read()
    end
    replies[#replies + 1] = redis.call('HMGET', key, unpack(fields))
  end
end
return replies
