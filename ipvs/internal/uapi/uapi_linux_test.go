package uapi

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestNumbersMatchLinux: the numbers written out here (so that they build
// on every system) are Linux's.
func TestNumbersMatchLinux(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"AFInet", AFInet, unix.AF_INET},
		{"AFInet6", AFInet6, unix.AF_INET6},
		{"IPProtoTCP", IPProtoTCP, unix.IPPROTO_TCP},
		{"GenlIDCtrl", GenlIDCtrl, unix.GENL_ID_CTRL},
		{"CtrlCmdNewFamily", CtrlCmdNewFamily, unix.CTRL_CMD_NEWFAMILY},
		{"CtrlCmdGetFamily", CtrlCmdGetFamily, unix.CTRL_CMD_GETFAMILY},
		{"CtrlAttrFamilyID", CtrlAttrFamilyID, unix.CTRL_ATTR_FAMILY_ID},
		{"CtrlAttrFamilyName", CtrlAttrFamilyName, unix.CTRL_ATTR_FAMILY_NAME},
		{"CtrlAttrVersion", CtrlAttrVersion, unix.CTRL_ATTR_VERSION},
		{"CtrlAttrHdrSize", CtrlAttrHdrSize, unix.CTRL_ATTR_HDRSIZE},
		{"CtrlAttrMaxAttr", CtrlAttrMaxAttr, unix.CTRL_ATTR_MAXATTR},
		{"CtrlAttrOps", CtrlAttrOps, unix.CTRL_ATTR_OPS},
		{"CtrlAttrMcastGroups", CtrlAttrMcastGroups, unix.CTRL_ATTR_MCAST_GROUPS},
		{"CtrlAttrOpID", CtrlAttrOpID, unix.CTRL_ATTR_OP_ID},
		{"CtrlAttrOpFlags", CtrlAttrOpFlags, unix.CTRL_ATTR_OP_FLAGS},
		{"CtrlAttrMcastGrpName", CtrlAttrMcastGrpName, unix.CTRL_ATTR_MCAST_GRP_NAME},
		{"CtrlAttrMcastGrpID", CtrlAttrMcastGrpID, unix.CTRL_ATTR_MCAST_GRP_ID},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, Linux says %d", c.name, c.got, c.want)
		}
	}
}
