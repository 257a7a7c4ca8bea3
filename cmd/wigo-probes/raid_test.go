package main

import "testing"

const mdstatOK = `Personalities : [raid1] [raid6] [raid5] [raid4]
md0 : active raid1 sdb1[1] sda1[0]
      976630464 blocks super 1.2 [2/2] [UU]
      bitmap: 1/8 pages [4KB], 65536KB chunk

md1 : active raid5 sdc1[0] sdd1[1] sde1[3]
      1953260544 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/3] [UUU]
      [==>..................]  check = 12.6% (123456/976630272) finish=90.1min speed=150000K/sec

unused devices: <none>
`

const mdstatDegraded = `Personalities : [raid1]
md0 : active raid1 sdb1[1](F) sda1[0]
      976630464 blocks super 1.2 [2/1] [U_]

md2 : active raid1 sdf1[2] sdg1[0]
      976630464 blocks super 1.2 [2/1] [U_]
      [=>...................]  recovery =  8.5% (83014656/976630464) finish=75.2min speed=198000K/sec

unused devices: <none>
`

func TestMdadm(t *testing.T) {
	t.Parallel()
	r := runFixture(t, "check_mdadm", fixture{files: map[string]string{"/proc/mdstat": mdstatOK}})
	r.want(t, 100, "2 md arrays OK: md0, md1")
	r = runFixture(t, "check_mdadm", fixture{files: map[string]string{"/proc/mdstat": mdstatDegraded}})
	r.want(t, 300, "md0 has a failed device", "md0 degraded [2/1] [U_]", "md2 recovery at 8.5%")
	if v := r.metricValue(t, "array", "md0"); v != 0 {
		t.Fatalf("md0 metric %v", v)
	}
	for _, files := range []map[string]string{{}, {"/proc/mdstat": "Personalities :\nunused devices: <none>\n"}} {
		if r := runFixture(t, "check_mdadm", fixture{files: files}); r.code != exitRemove || r.stdout != "" {
			t.Fatalf("no arrays: exit %d %q, want 13", r.code, r.stdout)
		}
	}
}
