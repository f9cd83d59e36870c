# SPDX-License-Identifier: Apache-2.0
# krun-chroot, the command-line tool (links the public library only).
all: $(B)/krun-chroot

$(B)/krun-chroot: tools/krun-chroot.c include/libkrun.h $(B)/$(KRUN_SONAME)
	$(CC) $(ALL_CFLAGS) $< -o $@ -L$(B) -l:$(KRUN_SONAME) -Wl,-rpath,'$$ORIGIN'

.PHONY: install-krun-chroot
install: install-krun-chroot
install-krun-chroot: $(B)/krun-chroot
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(CC) $(ALL_CFLAGS) tools/krun-chroot.c -o $(DESTDIR)$(BINDIR)/krun-chroot \
		-L$(B) -l:$(KRUN_SONAME) -Wl,-rpath,$(LIBDIR)
	install -m 0644 docs/krun-chroot.1 $(DESTDIR)$(MANDIR)/man1/krun-chroot.1
