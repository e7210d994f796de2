"""hardware.yaml: every value has a source, it loads, and a bad file names the file and the field."""

import pytest
import yaml

from benchlib.hardware import HardwareFileError, hardware_yaml, load_hardware


def test_every_value_has_a_source_and_the_file_loads():
    limits = load_hardware()
    raw = yaml.safe_load(hardware_yaml().read_text())
    # the mission's platforms, and the devices the evidence library measured on
    assert {"raspberry-pi-5", "hailo-10h", "nvidia-l4", "nvidia-a10g", "nvidia-h100-pcie",
            "nvidia-h100-sxm"} <= set(limits.hardware)  # fmt: skip
    for key, entry in raw["hardware"].items():
        assert entry["hardware_class"], key
        for field in ("memory_bandwidth_gb_s", "memory_gb", "power_w", "peak_tflops", "idle_power_w",
                      "model_bandwidth_gb_s", "model_peak_tflops"):  # fmt: skip
            if field not in entry:
                continue
            assert len(entry[field]["source"]) > 10, f"{key}.{field} has no source"
            assert entry[field]["value"] is not None or entry[field].get("note"), f"{key}.{field}: null without a note"
    for size, model in raw["reference_models"].items():
        for field, value in model.items():
            if isinstance(value, dict):  # model_id and quantization name a models.yaml geometry
                assert value["source"], f"reference_models.{size}.{field} has no source"


def test_the_datasheet_figures_the_issue_names():
    hw = load_hardware().hardware
    assert hw["raspberry-pi-5"].memory_bandwidth_gb_s.number == pytest.approx(4267e6 * 4 / 1e9, abs=0.05)
    assert [hw[k].memory_bandwidth_gb_s.number for k in ("nvidia-l4", "nvidia-a10g", "nvidia-h100-pcie", "nvidia-h100-sxm")] == [
        300, 600, 2000, 3350]  # fmt: skip
    assert [hw[k].power_w.number for k in ("nvidia-l4", "nvidia-a10g", "nvidia-h100-pcie", "nvidia-h100-sxm")] == [72, 300, 350, 700]
    assert hw["hailo-10h"].memory_gb.number == 8 and hw["hailo-10h"].memory_bandwidth_gb_s.number is None


def test_profiles_and_article_platforms_map_to_hardware():
    limits = load_hardware()
    assert limits.platform_hardware("Raspberry Pi 5 + AI HAT+ 2")[0] == "raspberry-pi-5"
    assert limits.platform_hardware("Raspberry Pi 5 + AI HAT+ 2 (CPU, llama.cpp)")[0] == "raspberry-pi-5"
    for profile, key in {"pi5": "raspberry-pi-5", "l4": "nvidia-l4", "a10g": "nvidia-a10g", "h100": "nvidia-h100-pcie",
                         "L4-class GPU": "nvidia-l4", "A10G-class GPU": "nvidia-a10g"}.items():  # fmt: skip
        assert limits.platform_hardware(profile)[0] == key
    assert limits.platform_hardware("smoke") == (None, None)


def test_the_7b_reference_model_has_llama2_geometry():
    model = load_hardware().reference_models["7B q4"]
    assert model.weight_bytes.number == 3.9e9
    assert model.kv_cache_bytes_per_token() == 2 * 32 * 32 * 128 * 2


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["hardware"]["nvidia-l4"]["power_w"].pop("source"), "hardware.nvidia-l4.power_w.source"),
        (lambda d: d["hardware"]["nvidia-a10g"]["memory_bandwidth_gb_s"].update(value=-1), "hardware.nvidia-a10g.memory_bandwidth_gb_s"),
        (lambda d: d["hardware"]["nvidia-l4"]["memory_gb"].update(value=None), "hardware.nvidia-l4.memory_gb"),
        (lambda d: d["platforms"]["l4"].update(hardware="nvidia-l40"), "platforms.l4.hardware"),
        (lambda d: d["hardware"]["raspberry-pi-5"].update(bandwith=1), "hardware.raspberry-pi-5.bandwith"),
    ],
)
def test_a_bad_file_names_the_file_and_the_field(tmp_path, edit, field):
    data = yaml.safe_load(hardware_yaml().read_text())
    edit(data)
    bad = tmp_path / "hardware.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(HardwareFileError) as error:
        load_hardware(bad)
    assert str(bad) in str(error.value) and field in str(error.value)


def test_a_missing_file_says_which(tmp_path):
    with pytest.raises(HardwareFileError, match="missing.yaml"):
        load_hardware(tmp_path / "missing.yaml")
