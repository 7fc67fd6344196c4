-- Section saves as editors make them: each wrk connection saves a section of its own, always with the version
-- its previous save returned (a stale version would be a 409 conflict, counted as a non-2xx answer).
-- Arguments (after --): report id, CSRF token, Cookie, number of wrk threads, mean pause in ms after each save
-- (0: save again at once, the worst case), then section:version:title triples (the title URL-encoded: the
-- edit form sends it unchanged as title and shown_title, so the answer needs no outline).
-- The summary line is bench/wrk-report.lua's.
dofile((debug.getinfo(1, "S").source:sub(2):gsub("wrk%-save%.lua$", "wrk-report.lua")))

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("index", threads)
end

local report, csrf, cookie
local free, versions, titles, saves = {}, {}, {}, 0
-- 本单位全年为残疾人提供康复服务 (URL-encoded): the text of every save, numbered so that each one changes it.
local TEXT = "%E6%9C%AC%E5%8D%95%E4%BD%8D%E5%85%A8%E5%B9%B4%E4%B8%BA%E6%AE%8B%E7%96%BE%E4%BA%BA"
  .. "%E6%8F%90%E4%BE%9B%E5%BA%B7%E5%A4%8D%E6%9C%8D%E5%8A%A1"

function init(args)
  report, csrf, cookie = args[1], args[2], args[3]
  local per, pause = tonumber(args[4]), tonumber(args[5])
  if pause > 0 then
    -- An editor reading and typing between two saves: on average `pause`, drawn afresh each time, so that
    -- eight editors do not stay in step (all saving in the same instant, every second).
    math.randomseed(os.time() + index)
    delay = function() return math.random(0, 2 * pause) end
  end
  for i = 6, #args do
    if (i - 6) % per == index - 1 then  -- this thread's share of the sections
      local section, version, title = args[i]:match("^(%d+):(%d+):(.*)$")
      versions[section] = version
      titles[section] = title
      free[#free + 1] = section
    end
  end
end

function request()
  local section = table.remove(free, 1) or next(versions)  -- as many sections as connections: one is free
  saves = saves + 1
  local body = "markdown=" .. TEXT .. "%E3%80%82%E7%AC%AC" .. saves .. "&version=" .. versions[section]
    .. "&title=" .. titles[section] .. "&shown_title=" .. titles[section]
  return wrk.format("POST", "/reports/" .. report .. "/sections/" .. section, {
    ["Cookie"] = cookie, ["X-CSRFToken"] = csrf, ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

function response(status, headers, body)
  local section, version = body:match('id="section%-(%d+)" class="[^"]*" data%-version="(%d+)"')
  if status == 409 then  -- a conflict (counted as non-2xx): carry on from the version it names, as an editor would
    section = body:match('id="section%-(%d+)" class="section conflict"')
    version = body:match('name="version" value="(%d+)"')
  end
  if section and version and versions[section] then
    versions[section] = version
    free[#free + 1] = section
  end
end
