#!lua
-- Apply one coalesced batch to one generation of a Trust's aggregates, atomically.
-- Returns 1 when written; 0 when a pupil state changed since it was read (nothing is written, the
-- caller re-reads and recomputes); -1 when the generation is neither the one readers use nor one
-- being rebuilt (nothing is written, the caller looks up the generations again).
--
-- Every key it touches is declared in KEYS (all of one Trust, so of one cluster slot); it never
-- builds a key name. The shebang makes Redis refuse any key of another slot.
-- KEYS[1..6] = generation key, building key, schools hash, change stream, updated-at, versions hash
-- KEYS[7..6+#states] = the pupil hash of each state, in order; then the counter hashes.
-- ARGV[1] = JSON {generation, states: [[read_rev, new_rev, n]], counters: [[index in KEYS, field,
--                 increment]], schools: [[id, version, json]], notices: [[year, period, measures,
--                 schools]], updated_at}
-- ARGV[2..] = the field/value pairs of each state in order, n pairs for each (raw JSON, unescaped).
local GENERATION_KEY, BUILDING_KEY, SCHOOLS_KEY, CHANGES_KEY, UPDATED_KEY, VERSIONS_KEY = 1, 2, 3, 4, 5, 6
local FIRST_PUPIL = 7
local batch = cjson.decode(ARGV[1])

local active = redis.call('GET', KEYS[GENERATION_KEY]) or ''
local is_active = batch.generation == active
if not is_active and redis.call('SISMEMBER', KEYS[BUILDING_KEY], batch.generation) == 0 then
  return -1
end

for i, state in ipairs(batch.states) do
  local rev = redis.call('HGET', KEYS[FIRST_PUPIL + i - 1], 'rev') or '0'
  if rev ~= state[1] then
    return 0
  end
end

local arg = 2
for i, state in ipairs(batch.states) do
  local fields = {'rev', state[2]}
  for _ = 1, state[3] do
    fields[#fields + 1] = ARGV[arg]
    fields[#fields + 1] = ARGV[arg + 1]
    arg = arg + 2
  end
  redis.call('HSET', KEYS[FIRST_PUPIL + i - 1], unpack(fields))
end

local touched = {}
for _, counter in ipairs(batch.counters) do
  local key = KEYS[counter[1]]
  local value = redis.call('HINCRBY', key, counter[2], counter[3])
  if value == 0 then
    redis.call('HDEL', key, counter[2])
  end
  touched[key] = true
end
-- Every counter hash written gets a new version, so readers may cache hashes and re-read only those
-- whose version moved.
for key in pairs(touched) do
  redis.call('HINCRBY', KEYS[VERSIONS_KEY], key, 1)
end

for _, school in ipairs(batch.schools) do
  local current = redis.call('HGET', KEYS[SCHOOLS_KEY], school[1])
  if (not current) or cjson.decode(current).version < school[2] then
    redis.call('HSET', KEYS[SCHOOLS_KEY], school[1], school[3])
  end
end

if is_active then
  for _, notice in ipairs(batch.notices) do
    redis.call('XADD', KEYS[CHANGES_KEY], 'MAXLEN', '~', '10000', '*',
      'academic_year', notice[1], 'period', notice[2], 'measures', notice[3], 'schools', notice[4])
  end
end
if #batch.counters > 0 or #batch.schools > 0 then
  redis.call('SET', KEYS[UPDATED_KEY], batch.updated_at)
end
return 1
