package ipvs

import (
	"errors"
	"testing"

	"github.com/goipvsadm/goipvsadm/ipvs/internal/uapi"
)

// silentLink takes every request and answers none.
type silentLink struct{ link }

func (silentLink) send([]byte) error      { return nil }
func (silentLink) sendQuick([]byte) error { return nil }
func (silentLink) answered() bool         { return false }
func (silentLink) recv() ([]byte, error) {
	return nil, errors.New("waiting for an answer the kernel will not send")
}

// TestNoAnswer: a request the kernel did not answer by the time sendmsg
// returned ends with errNoAnswer, without waiting for the deadline.
func TestNoAnswer(t *testing.T) {
	c := &Client{}
	if _, err := c.doOn(silentLink{}, ack(uapi.CmdDelDaemon, nil)); !errors.Is(err, errNoAnswer) {
		t.Errorf("DEL_DAEMON without an answer: %v, want errNoAnswer", err)
	}
}
