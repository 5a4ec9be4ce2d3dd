-- Headless Ardour check of PhraseGen's note lengths (run by scripts/ardour-check.sh).
--
-- Creates a session on the Dummy backend, a MIDI track with PhraseGen (VST3)
-- followed by the "PhraseGen Capture" Lua processor, plays from bar 1 and
-- writes every MIDI event PhraseGen sent as "sample transport status note velocity"
-- lines to $ARDOUR_CHECK_OUT/events.txt.
--
-- Environment: ARDOUR_CHECK_OUT (output dir), ARDOUR_CHECK_BUFFER (samples per
-- cycle), ARDOUR_CHECK_SECONDS (play time), ARDOUR_CHECK_RATE (sample rate).

local out_dir = assert (os.getenv ("ARDOUR_CHECK_OUT"), "ARDOUR_CHECK_OUT not set")
local buffer_samples = tonumber (os.getenv ("ARDOUR_CHECK_BUFFER") or "1024")
local play_seconds = tonumber (os.getenv ("ARDOUR_CHECK_SECONDS") or "20")
local rate = tonumber (os.getenv ("ARDOUR_CHECK_RATE") or "48000")

local function fail (msg)
	print ("ARDOUR-CHECK FAILED: " .. msg)
	os.exit (1)
end

local backend = AudioEngine:set_backend ("None (Dummy)", "", "")
if not backend then fail ("no Dummy backend") end
backend:set_device_name ("Silence")
backend:set_sample_rate (rate)
backend:set_buffer_size (buffer_samples)
if AudioEngine:start (false) ~= 0 then fail ("engine did not start") end

local s = create_session (out_dir .. "/session", "check", rate)
if not s then fail ("could not create the session") end

print ("ARDOUR-CHECK block size", Session:get_block_size (), "rate", Session:nominal_sample_rate ())
-- A new session's tempo map: 120 BPM, 4/4 (the analysis assumes the tempo it is given).
local ok, bpm = pcall (function ()
	return Temporal.TempoMap.read ():tempo_at (Temporal.timepos_t (0)):quarter_notes_per_minute ()
end)
print ("ARDOUR-CHECK tempo", ok and bpm or "unknown")

local midi1 = ARDOUR.ChanCount (ARDOUR.DataType ("midi"), 1)
local tl = Session:new_midi_track (midi1, midi1, false, ARDOUR.PluginInfo (), nil, nil, 1,
	"PhraseGen", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
local track = tl:front ()
if track:isnil () then fail ("could not create a MIDI track") end

local pg = ARDOUR.LuaAPI.new_plugin (Session, "PhraseGen", ARDOUR.PluginType.VST3, "")
if pg:isnil () then fail ("PhraseGen VST3 not found (is it in ~/.vst3 and scanned?)") end
if track:add_processor_by_index (pg, 0, nil, true) ~= 0 then fail ("could not add PhraseGen") end

local cap = ARDOUR.LuaAPI.new_luaproc (Session, "PhraseGen Capture")
if cap:isnil () then fail ("PhraseGen Capture Lua processor not found") end
if track:add_processor_by_index (cap, 1, nil, true) ~= 0 then fail ("could not add the capture processor") end

local i = 0
while true do
	local p = track:nth_processor (i)
	if p:isnil () then break end
	print ("ARDOUR-CHECK processor", i, p:display_name (), p:active ())
	i = i + 1
end

local shm = cap:to_insert ():plugin (0):to_luaproc ():shmem ()

-- Let the plugin activate and generate its first phrase before rolling.
ARDOUR.LuaAPI.usleep (3000000)
local before = shm:atomic_get_int (0)
print ("ARDOUR-CHECK events before rolling", before)

Session:request_locate (0, false, ARDOUR.LocateTransportDisposition.MustStop, ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep (500000)
Session:request_roll (ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep (math.floor (play_seconds * 1000000))
print ("ARDOUR-CHECK transport at", Session:transport_sample (), "rolling", Session:transport_rolling ())
Session:request_stop (false, false, ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep (500000)

local count = shm:atomic_get_int (0)
local log = shm:to_int (1):array ()
local f = assert (io.open (out_dir .. "/events.txt", "w"))
f:write ("# sample transport_sample status note velocity (rate " .. rate .. ", block " .. Session:get_block_size () .. ")\n")
for e = 0, count - 1 do
	local b = e * 5
	f:write (string.format ("%d %d %d %d %d\n", log[b + 1], log[b + 2], log[b + 3], log[b + 4], log[b + 5]))
end
f:close ()
print ("ARDOUR-CHECK events captured", count)

-- Keep PhraseGen's saved state (it holds the playing phrase) next to the events.
Session:save_state ("", false, false, false, false, false)
close_session ()
AudioEngine:stop (false)
print ("ARDOUR-CHECK done")
