"""The torch counting core: exact pattern ids on every path, counts, joint counts."""
import numpy as np
import pytest
import torch

from conftest import DEVICES
from mibench.core import Counts, codes_to_counts, joint_counts, pattern_ids
from mibench.core.counting import counts_from_ids


def same_partition(ids: np.ndarray, reference: np.ndarray) -> bool:
    """True when two labelings group the rows identically."""
    pairs = set(zip(ids.tolist(), reference.tolist()))
    return len(pairs) == len(set(ids.tolist())) == len(set(reference.tolist()))


def numpy_row_ids(rows: np.ndarray) -> np.ndarray:
    return np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1)


CASES = {
    "one column, small alphabet": ((3, 500, 1), 7),
    "one column, huge codes": ((2, 300, 1), 2**50),
    "bytes, one word": ((2, 800, 6), 3),
    "bytes, several words (hashed)": ((3, 600, 21), 2),
    "wide codes, mixed radix": ((2, 400, 3), 1000),
    "wide codes beyond int64 (hashed)": ((2, 400, 9), 2**40),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", list(CASES))
def test_pattern_ids_match_numpy_unique_rows(case, device):
    shape, high = CASES[case]
    g = torch.Generator().manual_seed(7)
    codes = torch.randint(0, high, shape, generator=g)
    half = shape[1] // 2
    codes[:, half : 2 * half] = codes[:, :half]  # force repeated rows
    ids, k = pattern_ids(codes.to(device))
    assert ids.device.type == device and ids.dtype == torch.int64
    for b in range(shape[0]):
        ref = numpy_row_ids(codes[b].numpy())
        assert same_partition(ids[b].cpu().numpy(), ref)
        assert int(k[b]) == len(set(ref.tolist()))
        assert sorted(set(ids[b].tolist())) == list(range(int(k[b])))  # dense


@pytest.mark.parametrize("dtype, d", [(torch.int64, 30), (torch.int8, 32)])
def test_hash_collisions_fall_back_to_exact_counting(dtype, d):
    g = torch.Generator().manual_seed(3)
    codes = torch.randint(0, 100, (2, 500, d), generator=g).to(dtype)  # 100**d codes: too many for an exact key, so hashed
    codes[:, 250:] = codes[:, :250]
    # A zero multiplier makes every row collide; verification must catch it.
    ids, k = pattern_ids(codes, _multipliers=torch.zeros(1, dtype=torch.int64))
    for b in range(2):
        ref = numpy_row_ids(codes[b].numpy())
        assert same_partition(ids[b].numpy(), ref)
        assert int(k[b]) == len(set(ref.tolist()))


def test_counts_sum_to_n_and_match_bincount():
    x = torch.tensor([[0, 0, 1, 2, 2, 2, 5]]).reshape(1, 7, 1)
    counts = codes_to_counts(x)
    assert sorted(counts.values.tolist()) == [1, 1, 2, 3]
    assert counts.n_samples == 7 and int(counts.values.sum()) == 7
    assert counts.distinct().tolist() == [4]


@pytest.mark.parametrize("high, other, parts", [(3, 4, 2), (10**6, 60, 2), (10**6, 60, 3)])
def test_joint_counts_paths_agree_with_numpy(high, other, parts):
    # (3, 4): product alphabet below n, counted by bincount; (10**6, 60): sorted keys.
    rng = np.random.default_rng(1)
    a = rng.integers(0, high, (2, 3000, 1))
    b = rng.integers(0, other, (2, 3000, parts - 1))
    id_sets = [pattern_ids(torch.from_numpy(a))] + [pattern_ids(torch.from_numpy(b[..., j : j + 1])) for j in range(parts - 1)]
    counts = joint_counts(id_sets)
    for i, c in enumerate(counts.per_batch()):
        _, ref = np.unique(np.concatenate([a[i], b[i]], axis=1), axis=0, return_counts=True)
        assert sorted(c.tolist()) == sorted(ref.tolist())


def test_counts_from_list_rejects_unequal_totals():
    with pytest.raises(ValueError, match="same number of samples"):
        Counts.from_list([[1, 2], [4]])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int64])
@pytest.mark.parametrize("highs", [(2,) * 12, (4,) * 6, (100, 2, 2, 2), (3, 5, 7)])
def test_counts_of_small_alphabet_rows_match_numpy(highs, dtype, device):
    # one bound for all columns, or each column's own (100, 2, 2, 2): counted by one bincount
    g = torch.Generator().manual_seed(11)
    codes = torch.stack([torch.randint(0, h, (3, 5000), generator=g) for h in highs], dim=-1).to(dtype)
    codes[1, :, 0] = 0  # a batch element with a constant column
    counts = codes_to_counts(codes.to(device))
    assert counts.values.device.type == device
    for b, got in enumerate(counts.per_batch()):
        _, ref = np.unique(codes[b].numpy(), axis=0, return_counts=True)
        assert sorted(got.cpu().tolist()) == sorted(ref.tolist())
        ids, k = pattern_ids(codes[b : b + 1].to(device))
        assert int(k[0]) == len(ref) and same_partition(ids[0].cpu().numpy(), numpy_row_ids(codes[b].numpy()))
    # the direct count equals counting the ids, value for value (every estimate is unchanged)
    slow = counts_from_ids(*pattern_ids(codes.to(device)))
    assert torch.equal(counts.values, slow.values) and torch.equal(counts.batch, slow.batch)


def test_rows_whose_first_rows_hide_the_alphabet_are_still_exact():
    # The first 1,024 rows are all zero (their column bounds allow an exact key); the rest
    # need 200**12 > 2**63 keys: the full column scan must see it and hash, exactly.
    g = torch.Generator().manual_seed(5)
    codes = torch.randint(0, 200, (1, 3000, 12), generator=g)
    codes[0, :1024] = 0
    codes[0, 2000:] = codes[0, 1024:2024].clone()  # repeated rows
    ids, k = pattern_ids(codes)
    ref = numpy_row_ids(codes[0].numpy())
    assert same_partition(ids[0].numpy(), ref) and int(k[0]) == len(set(ref.tolist()))


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8])
def test_counts_of_many_distinct_wide_rows_match_numpy(dtype):
    # 40 columns of 0..99: no exact int64 key, so rows are hashed; most are alone in their
    # hash bucket and counted 1 unsorted. Planted repeats (a row 5 times, pairs, a row in
    # two batch elements) must still be counted exactly.
    rng = np.random.default_rng(7)
    rows = rng.integers(0, 100, (3, 20000, 40)).astype(np.int8)
    rows[0, 100:105] = rows[0, 7]
    rows[1, 1::2][:300] = rows[1, ::2][:300]
    rows[2, :50] = rows[0, :50]
    rows[2, -1] = rows[2, 0]
    counts = codes_to_counts(torch.from_numpy(rows).to(dtype))
    assert counts.n_batches == 3 and counts.n_samples == 20000
    for b, got in enumerate(counts.per_batch()):
        _, ref = np.unique(rows[b], axis=0, return_counts=True)
        assert sorted(got.tolist()) == sorted(ref.tolist())
    assert max(counts.per_batch()[0].tolist()) == 6 and counts.distinct().tolist() == [
        len(np.unique(rows[b], axis=0)) for b in range(3)]


def test_the_hash_sort_is_numpys_unsigned_sort_exactly():
    # torch sorts int64; the top bit flipped maps unsigned order onto it: values across the
    # sign bit, repeats and both ends of the range come back in NumPy's uint64 order
    from mibench.core.counting import _sorted_u64

    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**63, 5000, dtype=np.int64).view(np.uint64) * np.uint64(3)  # wraps past 2**63
    values = np.concatenate([values, values[:100], np.array([0, 2**64 - 1, 2**63, 2**63 - 1], dtype=np.uint64)])
    assert (values >= np.uint64(2**63)).any() and (values < np.uint64(2**63)).any()
    ours = _sorted_u64(values)
    assert ours.dtype == np.uint64 and np.array_equal(ours, np.sort(values))


@pytest.mark.parametrize("repeats", [0, 40, 3000])
def test_hash_runs_count_hashes_that_share_their_top_half_exactly(repeats):
    # Hashes are told apart by their top 32 bits first: distinct hashes with the same top
    # half (planted, and about n^2 / 2^33 pairs by chance), a few true repeats (counted
    # among the tied rows only) and many (every hash sorted) must all be counted as
    # np.unique counts them, and the values seen more than once named.
    from mibench.core.counting import _hash_runs

    rng = np.random.default_rng(11)
    hashes = rng.integers(0, 2**63, 20000, dtype=np.int64).view(np.uint64) * np.uint64(5)
    hashes[1:200:2] = (hashes[0:200:2] & np.uint64(0xFFFFFFFF00000000)) | np.uint64(12345)  # same top half
    if repeats:
        hashes[-repeats:] = hashes[300 : 300 + repeats]
    counts, repeated = _hash_runs(hashes)
    kinds, ref = np.unique(hashes, return_counts=True)
    assert counts.sum() == len(hashes) and sorted(counts.tolist()) == sorted(ref.tolist())
    assert np.array_equal(repeated, kinds[ref > 1])
