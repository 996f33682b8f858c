"""Kay/CSL NSP files, the format of the official SVD archive, written so that `nspfile.read`
(the reader the SVD tools use) returns exactly the samples and rate written.

Layout (little-endian, IFF-style): b"FORMDS16", uint32 size of everything after it, then
subchunks of (4-byte id, uint32 size, payload): `HEDR` = recording date as 20 ASCII characters
("%b %d %H:%M:%S %Y"), uint32 sample rate, uint32 number of samples, uint16 maximum absolute
value of channels A and B; `SDA_` = channel A as int16.
"""
import datetime
import struct
from pathlib import Path

import numpy as np

# strftime's %b follows the locale; the format needs the English (C locale) abbreviations.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _chunk(chunk_id, payload):
    return chunk_id + struct.pack("<I", len(payload)) + payload


def write_nsp(path, samples_int16, sample_rate, recorded=None):
    """Write one channel of 16-bit samples as a single-channel NSP file.

    `recorded` (a date or datetime) is stored as the file's recording time; None stores the
    Unix epoch, because the header must hold some date."""
    samples = np.asarray(samples_int16)
    if samples.ndim != 1 or samples.dtype != np.int16:
        raise ValueError(f"NSP samples must be 1-D int16, got {samples.dtype} {samples.shape}")
    if not 0 < int(sample_rate) < 2**32:
        raise ValueError(f"invalid sample rate {sample_rate}")
    if recorded is None:
        recorded = datetime.datetime(1970, 1, 1)
    if not isinstance(recorded, datetime.datetime):
        recorded = datetime.datetime.combine(recorded, datetime.time())
    date = (
        f"{_MONTHS[recorded.month - 1]} {recorded.day:02d} "
        f"{recorded:%H:%M:%S} {recorded.year:04d}"
    ).encode("ascii")
    peak = int(np.abs(samples.astype(np.int32)).max()) if samples.size else 0
    header = date + struct.pack("<IIHH", int(sample_rate), samples.size, peak, 0)
    chunks = _chunk(b"HEDR", header) + _chunk(b"SDA_", samples.astype("<i2").tobytes())
    # The size counts the subchunks only: readers take b"FORMDS16" as one 8-byte id.
    Path(path).write_bytes(b"FORMDS16" + struct.pack("<I", len(chunks)) + chunks)


# Offsets in an NSP file: the FORM size after b"FORMDS16", and the HEDR payload's sample count
# (HEDR chunk at 12: id, size, then 20 date characters and the uint32 rate before the count).
_FORM_SIZE = slice(8, 12)
_HEDR_ID = slice(12, 16)
_HEDR_SAMPLES = slice(0x2C, 0x30)


def _sda_size_offset(data):
    at = bytes(data).find(b"SDA_", 16)
    if at < 0:
        raise ValueError("no SDA_ (channel A) chunk")
    return at + 4


def missing_sizes(data):
    """Whether an NSP file's size fields are missing (zero), as in the official archive's
    session 713, whose FORM size, SDA_ size and HEDR sample count are all zero."""
    data = bytes(data)
    if data[:8] != b"FORMDS16" or len(data) < 0x30:
        return False
    try:
        sda = _sda_size_offset(data)
    except ValueError:
        return False
    return int.from_bytes(data[_FORM_SIZE], "little") == 0 or int.from_bytes(data[sda:sda + 4], "little") == 0


def rebuild_sizes(data):
    """The bytes of an NSP file with its size fields rebuilt from the file length: the FORM
    size (length - 12), the SDA_ chunk size (the bytes after its header) and the HEDR sample
    count (those bytes / 2, 16-bit samples). Only for a single SDA_ chunk at the end of the
    file, as in the archive's incomplete files; sbvoicedb's fix_incomplete_nsp does the same."""
    fixed = bytearray(data)
    if fixed[:8] != b"FORMDS16" or fixed[_HEDR_ID] != b"HEDR":
        raise ValueError("not an NSP file with a HEDR header")
    sda = _sda_size_offset(fixed)
    payload = len(fixed) - sda - 4
    fixed[_FORM_SIZE] = (len(fixed) - 12).to_bytes(4, "little")
    fixed[sda:sda + 4] = payload.to_bytes(4, "little")
    fixed[_HEDR_SAMPLES] = (payload // 2).to_bytes(4, "little")
    return bytes(fixed)
