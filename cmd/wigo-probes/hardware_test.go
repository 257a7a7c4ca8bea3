package main

import "testing"

const sensorsU = `coretemp-isa-0000
Adapter: ISA adapter
Package id 0:
  temp1_input: 52.000
  temp1_max: 80.000
  temp1_crit: 100.000
  temp1_crit_alarm: 0.000
Core 0:
  temp2_input: 49.000
  temp2_max: 80.000
  temp2_crit: 100.000
  temp2_crit_alarm: 0.000

nct6775-isa-0290
Adapter: ISA adapter
Vbat:
  in8_input: 2.400
  in8_min: 0.000
  in8_max: 0.000
  in8_alarm: 0.000
fan2:
  fan2_input: 0.000
  fan2_min: 0.000
  fan2_alarm: 0.000

`

func TestLmSensors(t *testing.T) {
	t.Parallel()
	stub := map[string]string{"sensors": heredoc(sensorsU, "0")}
	r := runFixture(t, "lm-sensors", fixture{stubs: stub})
	r.want(t, 100, "4 sensors OK, hottest Package id 0 at 52°C")
	if v := r.metricValue(t, "sensor", "Core 0"); v != 49 {
		t.Fatalf("Core 0 %v", v)
	}
	// The original's rule set: Core\d+ warn at 30, Vbat low at 2.5, fans not zero.
	r = runFixture(t, "lm-sensors", fixture{stubs: stub, config: `{
		"metrics": {"Core \\d+": {"crit": 55, "warn": 30, "type": "temp"}, "Vbat": {"type": "volt", "low_warn": 2.5}, "fan\\d+": {"not_zero": 1, "type": "fan"}}}`})
	r.want(t, 300, "Core 0 49°C (>= 30)", "Vbat 2.4V (<= 2.5)", "fan2 0 RPM (stopped)")
	hot := "acpitz-acpi-0\nAdapter: ACPI interface\ntemp1:\n  temp1_input: 101.000\n  temp1_max: 90.000\n  temp1_crit: 100.000\n"
	r = runFixture(t, "lm-sensors", fixture{stubs: map[string]string{"sensors": heredoc(hot, "0")}})
	r.want(t, 300, "temp1 101°C (>= crit 100)")
	r = runFixture(t, "lm-sensors", fixture{stubs: map[string]string{"sensors": "echo 'No sensors found!' >&2; exit 1"}})
	if r.code != exitRemove {
		t.Fatalf("no sensors: exit %d, want 13", r.code)
	}
}

const smartSda = `smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0-18-amd64] (local build)
=== START OF INFORMATION SECTION ===
Device Model:     WDC WD40EFRX-68N32N0
Serial Number:    WD-WCC7K1234567
User Capacity:    4,000,787,030,016 bytes [4.00 TB]
Sector Sizes:     512 bytes logical, 4096 bytes physical

=== START OF READ SMART DATA SECTION ===
SMART overall-health self-assessment test result: PASSED

SMART Attributes Data Structure revision number: 16
Vendor Specific SMART Attributes with Thresholds:
ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE
  1 Raw_Read_Error_Rate     0x002f   200   200   051    Pre-fail  Always       -       0
  5 Reallocated_Sector_Ct   0x0033   200   200   140    Pre-fail  Always       -       0
  9 Power_On_Hours          0x0032   040   040   000    Old_age   Always       -       43981
194 Temperature_Celsius     0x0022   113   098   000    Old_age   Always       -       47
197 Current_Pending_Sector  0x0032   200   200   000    Old_age   Always       -       0

`
const smartSdb = `=== START OF INFORMATION SECTION ===
Device Model:     ST2000DM001
=== START OF READ SMART DATA SECTION ===
SMART overall-health self-assessment test result: FAILED!
Drive failure expected in less than 24 hours. SAVE ALL DATA.
ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE
  5 Reallocated_Sector_Ct   0x0033   001   001   036    Pre-fail  Always   FAILING_NOW 4000
194 Temperature_Celsius     0x0022   030   040   000    Old_age   Always       -       30 (Min/Max 18/45)

`

func TestSmart(t *testing.T) {
	t.Parallel()
	stub := `case "$1" in
--scan) echo '/dev/sda -d sat # /dev/sda [SAT], ATA device'; echo '/dev/sdb -d sat # /dev/sdb [SAT], ATA device'; echo '/dev/sdc -d sat # /dev/sdc';;
*) for a; do last=$a; done
case "$last" in
/dev/sda) cat <<'EOF'
` + smartSda + `EOF
exit 0;;
/dev/sdb) cat <<'EOF'
` + smartSdb + `EOF
exit 8;;
*) echo "Smartctl open device: /dev/sdc failed: No such device"; exit 2;;
esac;;
esac`
	r := runFixture(t, "smart", fixture{stubs: map[string]string{"smartctl": stub}})
	r.want(t, 300, "/dev/sda: Temperature_Celsius 47 (>= 45)", "/dev/sdb: Reallocated_Sector_Ct failing (FAILING_NOW)",
		"/dev/sdb: health FAILED!", "/dev/sdc: cannot read SMART data (Smartctl open device: /dev/sdc failed: No such device)")
	if v := r.metricValue(t, "device", "/dev/sda", "attribute", "Power_On_Hours"); v != 43981 {
		t.Fatalf("power on hours %v", v)
	}
	onlyA := `case "$1" in --scan) echo '/dev/sda -d sat # x';; *) cat <<'EOF'
` + smartSda + `EOF
;; esac`
	r = runFixture(t, "smart", fixture{stubs: map[string]string{"smartctl": onlyA}, config: `{"attributes": {"Temperature_Celsius": {"warn": 50}}}`})
	r.want(t, 100, "1 disk healthy: /dev/sda")
	for _, m := range r.Metrics {
		if m.Tags["attribute"] == "Power_On_Hours" {
			t.Fatalf("attributes replaces the watched set, yet Power_On_Hours is still published")
		}
	}
	denied := `case "$1" in --scan) echo '/dev/sda -d sat # x';; *) echo 'Smartctl open device: /dev/sda [SAT] failed: Permission denied'; exit 2;; esac`
	if r := runFixture(t, "smart", fixture{stubs: map[string]string{"smartctl": denied}}); r.code != exitDisable || r.stdout != "" {
		t.Fatalf("not root: exit %d %q, want 12", r.code, r.stdout)
	}
	if r := runFixture(t, "smart", fixture{stubs: map[string]string{"smartctl": "exit 0"}}); r.code != exitRemove {
		t.Fatalf("no disk: exit %d, want 13", r.code)
	}
	if r := runFixture(t, "smart", fixture{}); r.code != exitRemove {
		t.Fatalf("no smartctl: exit %d, want 13", r.code)
	}
}

const megaLD = `

Adapter 0 -- Virtual Drive Information:
Virtual Drive: 0 (Target Id: 0)
Name                :
RAID Level          : Primary-1, Secondary-0, RAID Level Qualifier-0
Size                : 278.875 GB
State               : Optimal
Number Of Drives    : 2

Virtual Drive: 1 (Target Id: 1)
Name                :
RAID Level          : Primary-5, Secondary-0, RAID Level Qualifier-3
State               : Degraded
Number Of Drives    : 3

Exit Code: 0x00
`
const megaPD = `
Adapter #0

Enclosure Device ID: 32
Slot Number: 0
Media Error Count: 0
Firmware state: Online, Spun Up

Enclosure Device ID: 32
Slot Number: 1
Media Error Count: 3
Firmware state: Online, Spun Up

Enclosure Device ID: 32
Slot Number: 2
Media Error Count: 0
Firmware state: Failed

Enclosure Device ID: 32
Slot Number: 3
Media Error Count: 0
Firmware state: Rebuild

Exit Code: 0x00
`

func TestMegaraid(t *testing.T) {
	t.Parallel()
	stub := `case "$1" in -LDInfo) cat <<'EOF'
` + megaLD + `EOF
;; -PDList) cat <<'EOF'
` + megaPD + `EOF
;; esac`
	r := runFixture(t, "check_raid_megaraid", fixture{stubs: map[string]string{"MegaCli64": stub}})
	r.want(t, 300, "a0/vd1 Degraded", "slot 1: 3 media errors", "slot 2 Failed", "slot 3 rebuilding")
	if v := r.metricValue(t, "volume", "a0/vd0"); v != 1 {
		t.Fatalf("vd0 %v", v)
	}
	r = runFixture(t, "check_raid_megaraid", fixture{stubs: map[string]string{"megacli": `case "$1" in -LDInfo) cat <<'EOF'
` + megaLD + `EOF
;; esac`}, config: `{"volumes": ["a0/vd0"]}`})
	r.want(t, 100, "1 volume Optimal")
	none := heredoc("\nAdapter 0 -- Virtual Drive Information:\nAdapter 0: No Virtual Drive Configured.\n\nExit Code: 0x00\n", "0")
	if r := runFixture(t, "check_raid_megaraid", fixture{stubs: map[string]string{"megacli": none}}); r.code != exitRemove {
		t.Fatalf("no virtual drive: exit %d, want 13", r.code)
	}
	if r := runFixture(t, "check_raid_megaraid", fixture{}); r.code != exitRemove {
		t.Fatalf("no megacli: exit %d, want 13", r.code)
	}
}

const sasList = `LSI Corporation SAS2 IR Configuration Utility.
Version 20.00.00.00 (2014.09.18)
         Adapter      Vendor  Device                       SubSys  SubSys
 Index    Type          ID      ID    Pci Address          Ven ID  Dev ID
 -----  ------------  ------  ------  -----------------    ------  ------
   0     SAS2008     1000h    72h   00h:02h:00h:00h      1028h   1f1ch
SAS2IRCU: Utility Completed Successfully.
`

func TestRaidLSI(t *testing.T) {
	t.Parallel()
	status := func(state, op string) string {
		return `case "$1" in LIST) cat <<'EOF'
` + sasList + `EOF
;; *) cat <<'EOF'
Background command progress status for controller 0...
IR Volume 1
  Volume ID                               : 323
  Current operation                       : ` + op + `
  Volume status                           : Enabled
  Volume state                            : ` + state + `
  Physical disk I/Os                      : Not quiesced
SAS2IRCU: Command STATUS Completed Successfully.
EOF
;; esac`
	}
	r := runFixture(t, "check_raid_lsi", fixture{stubs: map[string]string{"sas2ircu": status("Optimal", "None")}})
	r.want(t, 100, "1 volume Optimal")
	r = runFixture(t, "check_raid_lsi", fixture{stubs: map[string]string{"sas2ircu": status("Degraded", "Synchronize")}})
	r.want(t, 300, "volume c0/1 Degraded", "volume c0/1: Synchronize")
	noCtrl := heredoc("LSI Corporation SAS2 IR Configuration Utility.\nSAS2IRCU: MPTLib2 Error 1\n", "1")
	if r := runFixture(t, "check_raid_lsi", fixture{stubs: map[string]string{"sas3ircu": noCtrl}}); r.code != exitRemove {
		t.Fatalf("no controller: exit %d, want 13", r.code)
	}
	if r := runFixture(t, "check_raid_lsi", fixture{}); r.code != exitRemove {
		t.Fatalf("no tool: exit %d, want 13", r.code)
	}
}
