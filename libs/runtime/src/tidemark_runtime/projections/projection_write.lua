#!lua
-- Apply one coalesced batch to one generation of a Trust's aggregates, atomically.
-- Returns 1 when written; 0 when a pupil state changed since it was read (nothing is written, the
-- caller re-reads and recomputes); -1 when the generation is neither the one readers use nor one
-- being rebuilt (nothing is written, the caller looks up the generations again).
--
-- Every key it touches is declared in KEYS (all of one Trust, so of one cluster slot); it never
-- builds a key name. The shebang makes Redis refuse any key of another slot.
-- KEYS[1..7] = generation key, building key, schools hash, change stream, updated-at, versions hash,
--              classes hash
-- KEYS[8..7+states] = the pupil hash of each state, in order; then each counter hash, in order.
-- ARGV[1] = JSON {generation, states: <number of pupil states>, counters: <number of counter hashes>,
--                 schools: [[id, version, json]], classes: [[id, version, json]],
--                 notices: [[year, period, measures, schools]], updated_at, writes_field}
-- ARGV[2] = the pupil states, NUL-separated: per state the revision read, the new revision, n, then
--           n field/value pairs (raw JSON values, which never hold a NUL);
-- ARGV[3] = the counters, NUL-separated: per counter hash m, then m field/increment pairs (a
--           counter reaching 0 goes).
-- The bulk travels as two strings cut with a plain find: decoding it as JSON in Lua, or passing
-- each piece as its own argument, costs more than everything the script then does.
local GENERATION_KEY, BUILDING_KEY, SCHOOLS_KEY, CHANGES_KEY, UPDATED_KEY, VERSIONS_KEY, CLASSES_KEY = 1, 2, 3, 4, 5, 6, 7
local FIRST_PUPIL = 8
local batch = cjson.decode(ARGV[1])

local function reader(blob)
  local at = 1
  return function()
    local stop = string.find(blob, '\0', at, true)
    local token = string.sub(blob, at, stop - 1)
    at = stop + 1
    return token
  end
end

local active = redis.call('GET', KEYS[GENERATION_KEY]) or ''
local is_active = batch.generation == active
if not is_active and redis.call('SISMEMBER', KEYS[BUILDING_KEY], batch.generation) == 0 then
  return -1
end

local states = {}
local read = reader(ARGV[2])
for s = 1, batch.states do
  local revision, new_revision, n = read(), read(), tonumber(read())
  if (redis.call('HGET', KEYS[FIRST_PUPIL + s - 1], 'rev') or '0') ~= revision then
    return 0
  end
  local fields = {'rev', new_revision}
  for i = 1, 2 * n do
    fields[i + 2] = read()
  end
  states[s] = fields
end

for s, fields in ipairs(states) do
  redis.call('HSET', KEYS[FIRST_PUPIL + s - 1], unpack(fields))
end

-- Every counter hash written gets a new version, so readers may cache hashes and re-read only those
-- whose version moved.
read = reader(ARGV[3])
local written = 0
local first_counter = FIRST_PUPIL + batch.states
for c = 0, batch.counters - 1 do
  local key, m = KEYS[first_counter + c], tonumber(read())
  for _ = 1, m do
    local field = read()
    if redis.call('HINCRBY', key, field, read()) == 0 then
      redis.call('HDEL', key, field)
    end
  end
  redis.call('HINCRBY', KEYS[VERSIONS_KEY], key, 1)
  written = written + m
end
-- And the generation's write count: a reader finding it unmoved knows no counter hash moved.
if batch.counters > 0 then
  redis.call('HINCRBY', KEYS[VERSIONS_KEY], batch.writes_field, 1)
end

local function keep_newer(key, documents)
  for _, document in ipairs(documents) do
    local current = redis.call('HGET', key, document[1])
    if (not current) or cjson.decode(current).version < document[2] then
      redis.call('HSET', key, document[1], document[3])
    end
  end
end
keep_newer(KEYS[SCHOOLS_KEY], batch.schools)
keep_newer(KEYS[CLASSES_KEY], batch.classes)

if is_active then
  for _, notice in ipairs(batch.notices) do
    redis.call('XADD', KEYS[CHANGES_KEY], 'MAXLEN', '~', '10000', '*',
      'academic_year', notice[1], 'period', notice[2], 'measures', notice[3], 'schools', notice[4])
  end
end
if written > 0 or #batch.schools > 0 or #batch.classes > 0 then
  redis.call('SET', KEYS[UPDATED_KEY], batch.updated_at)
end
return 1
