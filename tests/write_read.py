# write_read.py FILE DATA: DATA written to FILE in one write(2), then what
# reading the same open file gives, to its end, on stdout (a cluster's
# run or python file: the program's output and its "exit N").
import os
import sys

fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, sys.argv[2].encode())
out = b""
while True:
    b = os.read(fd, 65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
