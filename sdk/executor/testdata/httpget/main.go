// Command httpget is a test helper for the end-to-end tests: copied into
// a chroot that has no curl, it sends one GET and prints the status code
// and body; it exits 0 only for the wanted status.
//
//	httpget URL [STATUS]
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: httpget URL [STATUS]")
		os.Exit(2)
	}
	want := 200
	if len(os.Args) > 2 {
		want, _ = strconv.Atoi(os.Args[2])
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Printf("%d\n%s", resp.StatusCode, body)
	if resp.StatusCode != want {
		os.Exit(1)
	}
}
