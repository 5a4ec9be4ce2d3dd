ardour {
	["type"]    = "dsp",
	name        = "PhraseGen Capture",
	category    = "Utility",
	license     = "GPL-3.0-or-later",
	author      = "PhraseGen",
	description = [[Passes MIDI through and logs every event it sees with its
sample time, so scripts/ardour-check.lua can read what the processor before
it (PhraseGen) sent.]]
}

-- Shared memory layout (ints):
--   [0]               number of events logged so far (atomic)
--   [1 + 5*i .. 5]    event i: engine sample time (counted from when the
--                     processor started running), transport sample (-1 when
--                     stopped), status byte, data1 (note), data2 (velocity)
local capacity = 16384
local fields = 5
local samples_seen = 0

function dsp_ioconfig ()
	return { { midi_in = 1, midi_out = 1, audio_in = -1, audio_out = -1 }, }
end

function dsp_init (rate)
	self:shmem ():allocate (1 + capacity * fields)
	self:shmem ():atomic_set_int (0, 0)
end

function dsp_configure (ins, outs)
	n_out = outs
end

function dsp_runmap (bufs, in_map, out_map, n_samples, offset)
	ARDOUR.DSP.process_map (bufs, n_out, in_map, out_map, n_samples, offset)
	local ib = in_map:get (ARDOUR.DataType ("midi"), 0)
	if ib ~= ARDOUR.ChanMapping.Invalid then
		local count = self:shmem ():atomic_get_int (0)
		local log = self:shmem ():to_int (1):array ()
		local rolling = Session:transport_rolling ()
		local transport = Session:transport_sample ()
		for _, e in pairs (bufs:get_midi (ib):table ()) do
			-- A split cycle calls us once per part with the whole buffer;
			-- log only this part's events.
			local t = e:time ()
			if count < capacity and e:size () >= 3 and t >= offset and t < offset + n_samples then
				local ev = e:buffer ():array ()
				local base = count * fields
				log[base + 1] = samples_seen + t - offset
				log[base + 2] = rolling and (transport + t) or -1
				log[base + 3] = ev[1]
				log[base + 4] = ev[2]
				log[base + 5] = ev[3]
				count = count + 1
			end
		end
		self:shmem ():atomic_set_int (0, count)
	end
	samples_seen = samples_seen + n_samples
end
