# SPDX-License-Identifier: AGPL-3.0-or-later
#
# generic.nix - how every ankihost package is built (spec nix.md N7, N8):
# the project's own Makefile with nixpkgs' stdenv, then the cmocka unit
# tests (sanitizer build, tests/run-all.sh unit) in checkPhase.  The callers
# (anki-sync-server.nix, tailscale-wait.nix, anki-backup.nix, ankihost.nix)
# choose which programs to build and install.
#
# Notes:
#   * the source is a fileset of what the build and the unit tests read, so
#     editing docs or Nix files does not rebuild the programs;
#   * -Werror is dropped here (WARN=...): a newer compiler in nixpkgs must
#     not break installs over a new warning; Debian CI keeps it;
#   * unit tests that need ../shared/fixtures skip themselves (not in the
#     sandbox); those with fixtures under tests/fixtures run.
{
  lib,
  stdenv,
  pkg-config,
  sqlite,
  zstd,
  jansson,
  libmicrohttpd,
  curl,
  libzip,
  openssl,
  utf8proc,
  pcre2,
  cmocka,
  pname,
  programs,
  description,
  mainProgram ? builtins.head programs,
}:
stdenv.mkDerivation {
  inherit pname;
  version = "0.1";

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Makefile
      ../src
      ../tests/unit
      ../tests/fixtures
      ../tests/run-all.sh
    ];
  };

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [
    sqlite
    zstd
    jansson
    libmicrohttpd
    curl
    libzip
    openssl
    utf8proc
    pcre2
  ];
  checkInputs = [ cmocka ];

  postPatch = ''
    patchShebangs tests/run-all.sh
  '';

  preBuild = ''
    makeFlagsArray+=(BUILD=build "WARN=-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla")
  '';
  buildFlags = map (p: "build/bin/${p}") programs;
  enableParallelBuilding = true;

  doCheck = true;
  checkPhase = ''
    runHook preCheck
    make -j$NIX_BUILD_CORES "''${makeFlagsArray[@]}" unit-build
    BUILD=build tests/run-all.sh unit
    runHook postCheck
  '';

  installPhase = ''
    runHook preInstall
    for p in ${lib.escapeShellArgs programs}; do
      install -Dm755 "build/bin/$p" "$out/bin/$p"
    done
    runHook postInstall
  '';

  meta = {
    inherit description mainProgram;
    license = lib.licenses.agpl3Plus;
    platforms = lib.platforms.linux;
  };
}
