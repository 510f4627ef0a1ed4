-- 90 % GET permissions, 9 % PUT identity, 1 % GET takedown orders (BENCH_MIXED=1); else permissions only
local n = tonumber(os.getenv("BENCH_N"))
local key = os.getenv("BENCH_KEY")
local mixed = os.getenv("BENCH_MIXED") == "1"
local body = '{"full_name":"Nguyen Van An","date_of_birth":"1990-01-01","phone_number":"0912345678",'
  .. '"verification":{"method":"sms_otp","verified_at":"2026-01-01T00:00:00Z"}}'
local hdr = {["Authorization"] = "Bearer " .. key}
local jhdr = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
math.randomseed(os.time())
request = function()
  local x = 0
  if mixed then x = math.random() end
  if x < 0.90 then
    return wrk.format("GET", "/v1/accounts/acc" .. math.random(1, n) .. "/permissions", hdr)
  elseif x < 0.99 then
    return wrk.format("PUT", "/v1/identities/mix" .. math.random(1, 5000), jhdr, body)
  end
  return wrk.format("GET", "/v1/takedown-orders?limit=20", hdr)
end
