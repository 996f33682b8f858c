import datetime

import nspfile
import numpy as np
import pytest

from svd_explain.nsp import write_nsp


@pytest.mark.parametrize("n_samples", [0, 1, 12345])
def test_nspfile_reads_back_samples_rate_and_date(tmp_path, n_samples):
    samples = np.random.default_rng(n_samples).integers(-32768, 32768, n_samples, dtype=np.int16)
    if n_samples:
        samples[0] = -32768  # the extreme value must survive (and fit the uint16 peak field)
    path = tmp_path / "x.nsp"
    write_nsp(path, samples, 50000, recorded=datetime.date(1998, 11, 5))

    rate, data, header = nspfile.read(str(path), return_header=True)
    assert rate == 50000
    assert data.shape == (n_samples, 1)
    np.testing.assert_array_equal(data[:, 0], samples)
    assert header["date"] == datetime.datetime(1998, 11, 5)
    assert header["length"] == n_samples
    assert header["max_abs_values"][0] == (32768 if n_samples else 0)


def test_rejects_samples_that_are_not_int16(tmp_path):
    with pytest.raises(ValueError, match="int16"):
        write_nsp(tmp_path / "x.nsp", np.zeros(10, dtype=np.float32), 50000)
    with pytest.raises(ValueError, match="int16"):
        write_nsp(tmp_path / "x.nsp", np.zeros((10, 2), dtype=np.int16), 50000)
