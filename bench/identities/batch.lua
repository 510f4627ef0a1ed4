-- POST /v1/permissions/check with 1,000 random ids per request
local n = tonumber(os.getenv("BENCH_N"))
local key = os.getenv("BENCH_KEY")
math.randomseed(os.time())
request = function()
  local ids = {}
  for i = 1, 1000 do ids[i] = '"acc' .. math.random(1, n) .. '"' end
  local body = '{"action":"post","account_ids":[' .. table.concat(ids, ",") .. ']}'
  return wrk.format("POST", "/v1/permissions/check",
                    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"},
                    body)
end
