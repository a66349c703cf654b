// Package dists finds the Python distributions of a release in a packages
// directory, checks their filenames (PEP 427 wheels, PEP 625 sdists) and
// that they all belong to one project and version, and hashes each file once,
// streaming, so that memory stays flat whatever the file size.
package dists
