-- GET /v1/accounts/acc<random>/permissions with the bench key
local n = tonumber(os.getenv("BENCH_N"))
local key = os.getenv("BENCH_KEY")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/v1/accounts/acc" .. math.random(1, n) .. "/permissions",
                    {["Authorization"] = "Bearer " .. key})
end
