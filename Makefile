# Builds and installs libnpaa for C and C++ programs (the Rust crates are built with cargo as
# usual):
#
#   make                                      # build, and make the build tree usable (below)
#   make install PREFIX=/usr/local            # or PREFIX=$HOME/.local, DESTDIR=... for packaging
#   make uninstall PREFIX=/usr/local
#
# `make` builds target/release/libnpaa.so and libnpaa.a and adds beside them what programs
# linked from the build tree need: the libnpaa.so.X link (the SONAME, which they load at run
# time) and pkgconfig/npaa-uninstalled.pc (absolute paths to include/ and the build tree):
#
#   cc app.c -o app -Iinclude -Ltarget/release -lnpaa && LD_LIBRARY_PATH=target/release ./app
#   PKG_CONFIG_PATH=$PWD/target/release/pkgconfig cc app.c -o app $(pkg-config --cflags --libs npaa)
#
# Installs libnpaa.so.X.Y.Z (+ the libnpaa.so.X SONAME link and the libnpaa.so dev link; on
# macOS libnpaa.X.Y.Z.dylib, libnpaa.X.dylib and libnpaa.dylib),
# libnpaa.a, npaa.h and npaa.hpp, a pkg-config file (pkg-config --cflags --libs npaa) and a
# CMake package (find_package(npaa); targets npaa::npaa and npaa::npaa_static). For MPI:
# npaa_mpi.h and npaa_mpi.hpp (header-only, compiled against your MPI), npaa-mpi.pc and the
# CMake component (find_package(npaa COMPONENTS mpi); target npaa::mpi).
# PROFILE=debug installs the debug build instead of the release build.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=
PROFILE ?= release
CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

VERSION := $(shell sed -n 's/^version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION)))
# The shared library's names, by system (npaa-capi/build.rs sets the name linked programs
# record): libnpaa.so.X.Y.Z with the SONAME libnpaa.so.X on Linux and FreeBSD,
# libnpaa.X.Y.Z.dylib with the install name libnpaa.X.dylib on macOS. (Windows: cargo's
# npaa.dll and its import library; this Makefile is for Unix systems.)
UNAME_S ?= $(shell uname -s)
ifeq ($(UNAME_S),Darwin)
SHLIB := libnpaa.dylib
SHLIB_SONAME := libnpaa.$(VERSION_MAJOR).dylib
SHLIB_REAL := libnpaa.$(VERSION).dylib
else
SHLIB := libnpaa.so
SHLIB_SONAME := libnpaa.so.$(VERSION_MAJOR)
SHLIB_REAL := libnpaa.so.$(VERSION)
endif
# What a program linking libnpaa.a also needs (`cargo rustc -p npaa-capi --crate-type
# staticlib -- --print native-static-libs`, for each system); scripts/c-tests links
# statically with it.
ifeq ($(UNAME_S),Darwin)
NATIVE_STATIC_LIBS := -liconv -lSystem -lc -lm
else ifeq ($(UNAME_S),FreeBSD)
NATIVE_STATIC_LIBS := -lexecinfo -lkvm -lmemstat -lprocstat -ldevstat -lutil -lrt -lpthread -lgcc_s -lc -lm
else
NATIVE_STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
endif

IS_DEBUG := $(filter debug dev,$(PROFILE))
CARGO_PROFILE := $(if $(IS_DEBUG),,--profile $(PROFILE))
OUT := $(TARGET_DIR)/$(if $(IS_DEBUG),debug,$(PROFILE))

# The CMake package finds the prefix relative to its own location (relocatable install).
LIBDIR_TO_PREFIX = $(shell realpath -m --relative-to='$(LIBDIR)' '$(PREFIX)')
INCLUDEDIR_REL = $(shell realpath -m --relative-to='$(PREFIX)' '$(INCLUDEDIR)')

SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	-e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' -e 's|@VERSION_MINOR@|$(VERSION_MINOR)|g' \
	-e 's|@SOVERSION@|$(VERSION_MAJOR)|g' \
	-e 's|@SHLIB_SONAME@|$(SHLIB_SONAME)|g' -e 's|@SHLIB_REAL@|$(SHLIB_REAL)|g' \
	-e 's|@NATIVE_STATIC_LIBS@|$(NATIVE_STATIC_LIBS)|g' \
	-e 's|@NATIVE_STATIC_LIBS_CMAKE@|$(subst -l,,$(subst $() ,;,$(NATIVE_STATIC_LIBS)))|g' \
	-e 's|@LIBDIR_TO_PREFIX@|$(LIBDIR_TO_PREFIX)|g' -e 's|@INCLUDEDIR_REL@|$(INCLUDEDIR_REL)|g'

.PHONY: all build install uninstall

all: build

# Absolute paths for npaa-uninstalled.pc.
BUILD_TREE = $(abspath $(OUT))
SOURCE_INCLUDE = $(abspath include)

build:
	$(CARGO) build -p npaa-capi $(CARGO_PROFILE)
	ln -sf $(SHLIB) '$(OUT)/$(SHLIB_SONAME)'
	install -d '$(OUT)/pkgconfig'
	$(SUBST) -e 's|@BUILD_TREE@|$(BUILD_TREE)|g' -e 's|@SOURCE_INCLUDE@|$(SOURCE_INCLUDE)|g' \
		npaa-capi/pkg/npaa-uninstalled.pc.in > '$(OUT)/pkgconfig/npaa-uninstalled.pc'

install: build
	install -d '$(DESTDIR)$(LIBDIR)/pkgconfig' '$(DESTDIR)$(LIBDIR)/cmake/npaa' '$(DESTDIR)$(INCLUDEDIR)'
	install -m 755 '$(OUT)/$(SHLIB)' '$(DESTDIR)$(LIBDIR)/$(SHLIB_REAL)'
ifeq ($(UNAME_S),Darwin)
	install_name_tool -id '$(LIBDIR)/$(SHLIB_SONAME)' '$(DESTDIR)$(LIBDIR)/$(SHLIB_REAL)'
endif
	ln -sf '$(SHLIB_REAL)' '$(DESTDIR)$(LIBDIR)/$(SHLIB_SONAME)'
	ln -sf '$(SHLIB_SONAME)' '$(DESTDIR)$(LIBDIR)/$(SHLIB)'
	install -m 644 '$(OUT)/libnpaa.a' '$(DESTDIR)$(LIBDIR)/libnpaa.a'
	install -m 644 include/npaa.h include/npaa.hpp '$(DESTDIR)$(INCLUDEDIR)/'
	install -m 644 include/npaa_mpi.h include/npaa_mpi.hpp include/npaa_collective.h \
		'$(DESTDIR)$(INCLUDEDIR)/'
	$(SUBST) npaa-capi/pkg/npaa.pc.in > '$(DESTDIR)$(LIBDIR)/pkgconfig/npaa.pc'
	$(SUBST) npaa-capi/pkg/npaa-mpi.pc.in > '$(DESTDIR)$(LIBDIR)/pkgconfig/npaa-mpi.pc'
	$(SUBST) npaa-capi/pkg/npaaConfig.cmake.in > '$(DESTDIR)$(LIBDIR)/cmake/npaa/npaaConfig.cmake'
	$(SUBST) npaa-capi/pkg/npaaConfigVersion.cmake.in > '$(DESTDIR)$(LIBDIR)/cmake/npaa/npaaConfigVersion.cmake'

uninstall:
	rm -f '$(DESTDIR)$(LIBDIR)/$(SHLIB)' '$(DESTDIR)$(LIBDIR)/$(SHLIB_SONAME)' \
		'$(DESTDIR)$(LIBDIR)/$(SHLIB_REAL)' '$(DESTDIR)$(LIBDIR)/libnpaa.a' \
		'$(DESTDIR)$(INCLUDEDIR)/npaa.h' '$(DESTDIR)$(INCLUDEDIR)/npaa.hpp' \
		'$(DESTDIR)$(INCLUDEDIR)/npaa_mpi.h' '$(DESTDIR)$(INCLUDEDIR)/npaa_mpi.hpp' \
		'$(DESTDIR)$(INCLUDEDIR)/npaa_collective.h' \
		'$(DESTDIR)$(LIBDIR)/pkgconfig/npaa.pc' '$(DESTDIR)$(LIBDIR)/pkgconfig/npaa-mpi.pc' \
		'$(DESTDIR)$(LIBDIR)/cmake/npaa/npaaConfig.cmake' \
		'$(DESTDIR)$(LIBDIR)/cmake/npaa/npaaConfigVersion.cmake'
	-rmdir '$(DESTDIR)$(LIBDIR)/cmake/npaa'
