# SPDX-License-Identifier: AGPL-3.0-or-later
#
# lib.nix - a builtins-only stand-in for the part of nixpkgs' `lib` that
# ankihost's flake, packages and NixOS modules use (docs/nix.md, "Offline
# checks"; spec nix.md section 2).  It lets `make check` evaluate the modules
# on a machine with Debian's Nix 2.8 and no nixpkgs.
#
# What it implements, and the invariants the module cases rely on:
#   * a module fixpoint (`evalModules`): `config`, `options`, `lib` and the
#     specialArgs are passed to every module function; `imports` are followed
#     and de-duplicated by path, as nixpkgs does;
#   * definitions are pushed below attribute names before any `mkIf`
#     condition is looked at, so `config = mkIf cfg.enable { ... }` never
#     forces `cfg.enable` while option names are being matched;
#   * priorities (option default 1500, mkDefault 1000, plain 100, mkForce 50),
#     ordering (mkBefore/mkAfter/mkOrder, stable), and the same failures as
#     nixpkgs, all raised with `throw` so that `builtins.tryEval` sees them:
#     unknown option, wrong type, conflicting values, undefined option,
#     double declaration, mixed list/non-list systemd values;
#   * the final `config` of an evaluation checks every namespace for unknown
#     definitions when it is first forced (nixpkgs' `_module.check`), while
#     the `config`/`options` handed to modules stay unchecked, so that a
#     module may test `options ? age` without recursion.
#
# Anything a module uses that is missing here fails with "attribute ...
# missing": add it here together with a case in tests/nix/lib-cases.nix, which
# runs against both this file and the real nixpkgs lib and must agree.
let
  b = builtins;
  inherit (b)
    all
    any
    attrNames
    concatLists
    concatMap
    concatStringsSep
    deepSeq
    elem
    elemAt
    filter
    foldl'
    functionArgs
    genList
    hasAttr
    head
    isAttrs
    isBool
    isFunction
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    map
    mapAttrs
    match
    removeAttrs
    replaceStrings
    seq
    sort
    stringLength
    substring
    tail
    toString
    typeOf
    ;

  # ---------------------------------------------------------------- basics
  id = x: x;
  const = x: _: x;
  optional = c: x: if c then [ x ] else [ ];
  optionals = c: l: if c then l else [ ];
  optionalAttrs = c: a: if c then a else { };
  optionalString = c: s: if c then s else "";
  concatStrings = concatStringsSep "";
  concatMapStrings = f: l: concatStrings (map f l);
  concatMapStringsSep =
    sep: f: l:
    concatStringsSep sep (map f l);
  hasPrefix = p: s: substring 0 (stringLength p) s == p;
  hasSuffix =
    p: s:
    let
      lp = stringLength p;
      ls = stringLength s;
    in
    ls >= lp && substring (ls - lp) lp s == p;
  removePrefix = p: s: if hasPrefix p s then substring (stringLength p) (stringLength s) s else s;
  removeSuffix =
    p: s:
    if hasSuffix p s then substring 0 (stringLength s - stringLength p) s else s;
  escapeRegex = s: replaceStrings (map (c: c) regexChars) (map (c: "\\${c}") regexChars) s;
  regexChars = [
    "\\"
    "["
    "]"
    "{"
    "}"
    "("
    ")"
    "^"
    "$"
    "?"
    "*"
    "+"
    "|"
    "."
  ];
  splitString = sep: s: filter isString (b.split (escapeRegex sep) s);
  isStringLike = x: isString x || isPath x || (isAttrs x && (x ? outPath || x ? __toString));
  isDerivation = x: isAttrs x && (x.type or null) == "derivation";
  isStorePath =
    x:
    isStringLike x
    && (
      let
        s = toString x;
      in
      hasPrefix "/nix/store/" s && match "/nix/store/[^/]+" s != null
    );
  last = l: elemAt l (length l - 1);
  imap0 = f: l: genList (i: f i (elemAt l i)) (length l);
  imap1 = f: l: genList (i: f (i + 1) (elemAt l i)) (length l);
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  flatten = x: if isList x then concatMap flatten x else [ x ];
  count = p: l: length (filter p l);
  findFirst =
    p: d: l:
    let
      m = filter p l;
    in
    if m == [ ] then d else head m;
  toList = x: if isList x then x else [ x ];
  nameValuePair = name: value: { inherit name value; };
  mapAttrs' = f: s: listToAttrs (map (n: f n s.${n}) (attrNames s));
  mapAttrsToList = f: s: map (n: f n s.${n}) (attrNames s);
  filterAttrs =
    p: s:
    listToAttrs (concatMap (n: if p n s.${n} then [ (nameValuePair n s.${n}) ] else [ ]) (attrNames s));
  genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
  attrByPath =
    path: d: s:
    if path == [ ] then
      s
    else if isAttrs s && s ? ${head path} then
      attrByPath (tail path) d s.${head path}
    else
      d;
  zipAttrsWith =
    f: sets:
    let
      names = unique (concatMap attrNames sets);
    in
    listToAttrs (
      map (n: nameValuePair n (f n (map (s: s.${n}) (filter (s: s ? ${n}) sets)))) names
    );
  recursiveUpdate =
    l: r:
    l
    // mapAttrs (
      n: v: if isAttrs v && !isDerivation v && isAttrs (l.${n} or null) then recursiveUpdate l.${n} v else v
    ) r;
  boolToString = x: if x then "true" else "false";
  escapeShellArg =
    arg:
    let
      s = toString arg;
    in
    if match "[[:alnum:],._+:@%/-]+" s == null then "'${replaceStrings [ "'" ] [ "'\\''" ] s}'" else s;
  escapeShellArgs = concatMapStringsSep " " escapeShellArg;
  makeBinPath = concatMapStringsSep ":" (p: "${p.bin or p}/bin");
  warn = msg: v: b.trace "evaluation warning: ${msg}" v;
  warnIf = c: msg: v: if c then warn msg v else v;
  getExe' = x: y: "${x.bin or x}/bin/${y}";
  getExe =
    x:
    if x ? meta.mainProgram then
      getExe' x x.meta.mainProgram
    else
      throw "stand-in lib.getExe: ${x.name or "package"} has no meta.mainProgram (N7 requires one)";

  showOption = loc: concatStringsSep "." loc;
  showVal =
    v:
    if isString v then
      "\"${v}\""
    else if isInt v || isBool v || v == null || isPath v then
      b.toJSON v
    else if isDerivation v then
      "<derivation ${v.name or "?"}>"
    else if isList v then
      "[ ${concatMapStringsSep " " showVal v} ]"
    else if isAttrs v then
      "{ ${concatMapStringsSep " " (n: "${n} = ...;") (attrNames v)} }"
    else
      "<${typeOf v}>";
  showDefs = defs: concatMapStrings (d: "\n- In `${d.file}': ${showVal d.value}") defs;

  # ------------------------------------------------------------ properties
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkVMOverride = mkOverride 10;
  mkOrder = priority: content: {
    _type = "order";
    inherit priority content;
  };
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;
  tagOf = v: if isAttrs v then v._type or null else null;

  # Below attribute names: keep conditions and priorities unevaluated.
  # (Like nixpkgs, mkOrder is not pushed down: it belongs on an option.)
  pushDown =
    v:
    let
      t = tagOf v;
    in
    if t == "merge" then
      concatMap pushDown v.contents
    else if t == "if" then
      map (mapAttrs (_: mkIf v.condition)) (pushDown v.content)
    else if t == "override" then
      map (mapAttrs (_: mkOverride v.priority)) (pushDown v.content)
    else
      [ v ];

  # At an option: evaluate conditions; overrides and orders stay wrapped
  # (one level each is stripped by mergeDefinitions, as in nixpkgs).
  discharge =
    v:
    let
      t = tagOf v;
    in
    if t == "merge" then
      concatMap discharge v.contents
    else if t == "if" then
      (
        if !isBool v.condition then
          throw "mkIf called with a non-Boolean condition"
        else if v.condition then
          discharge v.content
        else
          [ ]
      )
    else
      [ v ];

  # Keep only the definitions of the highest priority (lowest number).
  filterOverrides =
    defs:
    let
      prioOf = d: if tagOf d.value == "override" then d.value.priority else 100;
      strip = d: if tagOf d.value == "override" then d // { value = d.value.content; } else d;
      best = foldl' (a: d: if prioOf d < a then prioOf d else a) 9999 defs;
    in
    map strip (filter (d: prioOf d == best) defs);

  # ----------------------------------------------------------- merge rules
  getValues = map (d: d.value);
  mergeEqualOption =
    loc: defs:
    if defs == [ ] then
      throw "mergeEqualOption: no definitions for `${showOption loc}'"
    else if length defs == 1 then
      (head defs).value
    else
      (foldl' (
        first: d:
        if d.value != first.value then
          throw "The option `${showOption loc}' has conflicting definition values:${showDefs [ first d ]}"
        else
          first
      ) (head defs) (tail defs)).value;
  mergeOneOption =
    loc: defs:
    if length defs == 1 then
      (head defs).value
    else
      throw "The option `${showOption loc}' is defined multiple times while it's expected to be unique.${showDefs defs}";
  mergeDefaultOption =
    loc: defs:
    let
      list = getValues defs;
    in
    if length list == 1 then
      head list
    else if all isFunction list then
      x: mergeDefaultOption loc (map (f: f x) list)
    else if all isList list then
      concatLists list
    else if all isAttrs list then
      foldl' (a: x: a // x) { } list
    else if all isBool list then
      any id list
    else if all isString list then
      concatStrings list
    else if all isInt list && all (x: x == head list) list then
      head list
    else
      throw "Cannot merge definitions of `${showOption loc}'. Definition values:${showDefs defs}";

  # The definitions of one option (or element), after conditions and
  # priorities; { isDefined; value; optionalValue; definitions; files; }.
  mergeDefinitions =
    loc: type: defs:
    let
      d1 = concatMap (
        d:
        map (v: {
          inherit (d) file;
          value = v;
        }) (discharge d.value)
      ) defs;
      prio = d: if tagOf d.value == "override" then d.value.priority else 100;
      best = foldl' (a: d: if prio d < a then prio d else a) 9999 d1;
      d2 = map (d: if tagOf d.value == "override" then d // { value = d.value.content; } else d) (
        filter (d: prio d == best) d1
      );
      ord = d: if tagOf d.value == "order" then d.value.priority else 1000;
      kept = map (d: if tagOf d.value == "order" then d // { value = d.value.content; } else d) (
        sort (x: y: ord x < ord y) d2
      );
      bad = filter (d: !(type.check d.value)) kept;
      value =
        if kept == [ ] then
          throw "The option `${showOption loc}' is used but not defined."
        else if bad != [ ] then
          throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:${showDefs [ (head bad) ]}"
        else
          type.merge loc kept;
    in
    {
      isDefined = kept != [ ];
      inherit value;
      optionalValue = if kept == [ ] then { } else { inherit value; };
      definitions = getValues kept;
      files = map (d: d.file) kept;
    };

  # ---------------------------------------------------------------- options
  mkOption = attrs: attrs // { _type = "option"; };
  isOption = x: tagOf x == "option";
  mkEnableOption =
    name:
    mkOption {
      default = false;
      example = true;
      description = "Whether to enable ${name}.";
      type = types.bool;
    };
  mkPackageOption =
    pkgs: name:
    {
      default ? [ name ],
      ...
    }:
    let
      path = toList default;
    in
    mkOption {
      type = types.package;
      default = attrByPath path (throw "mkPackageOption: pkgs.${concatStringsSep "." path} missing") pkgs;
      defaultText = literalExpression "pkgs.${concatStringsSep "." path}";
      description = "The ${name} package to use.";
    };
  literalExpression = text: {
    _type = "literalExpression";
    inherit text;
  };
  literalMD = text: {
    _type = "literalMD";
    inherit text;
  };
  mdDoc = id;

  # ------------------------------------------------------------------ types
  mkOptionType =
    {
      name,
      description ? null,
      check ? (_: true),
      merge ? mergeDefaultOption,
      ...
    }@a:
    removeAttrs a [ "description" ]
    // {
      _type = "option-type";
      inherit name check merge;
      description = if description == null then name else description;
    };

  addCheck = t: f: t // { check = x: t.check x && f x; };

  intBetween =
    lo: hi:
    mkOptionType {
      name = "intBetween";
      description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
      check = x: isInt x && x >= lo && x <= hi;
      merge = mergeEqualOption;
    };

  types = rec {
    inherit addCheck;
    unspecified = mkOptionType { name = "unspecified"; };
    raw = mkOptionType {
      name = "raw";
      merge = mergeOneOption;
    };
    bool = mkOptionType {
      name = "bool";
      description = "boolean";
      check = isBool;
      merge = mergeEqualOption;
    };
    int = mkOptionType {
      name = "int";
      description = "signed integer";
      check = isInt;
      merge = mergeEqualOption;
    };
    ints = {
      between = intBetween;
      positive = addCheck int (x: x > 0) // {
        name = "positiveInt";
        description = "positive integer, meaning >0";
      };
      unsigned = addCheck int (x: x >= 0) // {
        name = "unsignedInt";
        description = "unsigned integer, meaning >=0";
      };
      u16 = intBetween 0 65535;
    };
    port = ints.u16;
    str = mkOptionType {
      name = "str";
      description = "string";
      check = isString;
      merge = mergeEqualOption;
    };
    nonEmptyStr = addCheck str (x: match "[ \t\n]*" x == null) // {
      name = "nonEmptyStr";
      description = "non-empty string";
    };
    strMatching =
      pattern:
      mkOptionType {
        name = "strMatching ${pattern}";
        description = "string matching the pattern ${pattern}";
        check = x: isString x && match pattern x != null;
        merge = mergeEqualOption;
      };
    singleLineStr = mkOptionType {
      name = "singleLineStr";
      description = "(optionally newline-terminated) single-line string";
      inherit (strMatching "[^\n\r]*\n?") check;
      merge = loc: defs: removeSuffix "\n" (mergeEqualOption loc defs);
    };
    lines = mkOptionType {
      name = "lines";
      description = "strings concatenated with \"\\n\"";
      check = isString;
      merge = loc: defs: concatStringsSep "\n" (getValues defs);
    };
    path = mkOptionType {
      name = "path";
      description = "absolute path";
      check = x: isStringLike x && substring 0 1 (toString x) == "/";
      merge = mergeEqualOption;
    };
    package = mkOptionType {
      name = "package";
      check = x: isDerivation x || isStorePath x;
      merge = mergeOneOption;
    };
    enum =
      values:
      mkOptionType {
        name = "enum";
        description = "one of ${concatMapStringsSep ", " showVal values}";
        check = x: elem x values;
        merge = mergeEqualOption;
      };
    nullOr =
      t:
      mkOptionType {
        name = "nullOr";
        description = "null or ${t.description}";
        check = x: x == null || t.check x;
        merge =
          loc: defs:
          let
            nulls = count (d: d.value == null) defs;
          in
          if nulls == length defs then
            null
          else if nulls != 0 then
            throw "The option `${showOption loc}' is defined both null and not null.${showDefs defs}"
          else
            t.merge loc defs;
      };
    either =
      t1: t2:
      mkOptionType {
        name = "either";
        description = "${t1.description} or ${t2.description}";
        check = x: t1.check x || t2.check x;
        merge =
          loc: defs:
          if all (d: t1.check d.value) defs then
            t1.merge loc defs
          else if all (d: t2.check d.value) defs then
            t2.merge loc defs
          else
            mergeOneOption loc defs;
      };
    oneOf = ts: foldl' either (head ts) (tail ts);
    listOf =
      t:
      mkOptionType {
        name = "listOf";
        description = "list of ${t.description}";
        check = isList;
        merge =
          loc: defs:
          getValues (
            concatLists (
              imap1 (
                n: d:
                concatLists (
                  imap1 (
                    m: v:
                    let
                      r = mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) t [
                        {
                          inherit (d) file;
                          value = v;
                        }
                      ];
                    in
                    if r.isDefined then [ { inherit (r) value; } ] else [ ]
                  ) d.value
                )
              ) defs
            )
          );
      };
    attrsOf =
      t:
      mkOptionType {
        name = "attrsOf";
        description = "attribute set of ${t.description}";
        check = isAttrs;
        merge =
          loc: defs:
          mapAttrs (_: r: r.value) (
            filterAttrs (_: r: r.isDefined) (
              zipAttrsWith (n: ds: mergeDefinitions (loc ++ [ n ]) t ds) (
                map (
                  d:
                  mapAttrs (_: v: {
                    inherit (d) file;
                    value = v;
                  }) d.value
                ) defs
              )
            )
          );
      };
    submodule =
      m:
      mkOptionType {
        name = "submodule";
        description = "submodule";
        check = x: isAttrs x || isFunction x || isPath x;
        merge =
          loc: defs:
          (evalModules {
            prefix = loc;
            specialArgs = {
              name = last loc;
            };
            modules =
              [ m ]
              ++ map (
                d:
                if isFunction d.value || isPath d.value then
                  d.value
                else
                  {
                    _file = d.file;
                    config = d.value;
                  }
              ) defs;
          }).config;
      };
  };

  # ---------------------------------------------------------- evalModules
  allowedStructured = [
    "_file"
    "key"
    "imports"
    "options"
    "config"
    "disabledModules"
    "_class"
  ];

  evalModules =
    {
      modules,
      specialArgs ? { },
      prefix ? [ ],
    }:
    let
      args = {
        inherit lib;
        config = internalConfig;
        options = optionTree;
      }
      // specialArgs;

      load =
        fallbackKey: m:
        let
          fromFile = isPath m || isString m;
          v = if fromFile then import m else m;
          body0 = if isFunction v then v args else v;
          body =
            if !isAttrs body0 then
              throw "module ${fallbackKey}: must be a function or an attribute set"
            else if (body0._type or "module") != "module" then
              throw "Expected a module, but found a value of type \"${body0._type}\" in ${fallbackKey}; wrap it in `config = ...`."
            else
              body0;
          file = if fromFile then toString m else body._file or fallbackKey;
        in
        {
          key = if fromFile then toString m else body.key or fallbackKey;
          inherit file body;
        };

      closure = b.genericClosure {
        startSet = imap1 (i: load "<module ${toString i}>") modules;
        operator = item: imap1 (i: load "${item.file}:import-${toString i}") (item.body.imports or [ ]);
      };

      # nixpkgs lists definitions in the reverse of this breadth-first
      # order (later modules first); list options show the difference.
      ordered = b.genList (i: elemAt closure (length closure - 1 - i)) (length closure);

      normalised = map (
        item:
        let
          m = item.body;
          structured = m ? options || m ? config;
          extra = filter (n: !(elem n allowedStructured)) (attrNames m);
        in
        {
          inherit (item) file;
          options = if structured then m.options or { } else { };
          config =
            if !structured then
              removeAttrs m [
                "imports"
                "_file"
                "key"
                "disabledModules"
                "_class"
              ]
            else if extra != [ ] then
              throw "Module `${item.file}' has an unsupported attribute `${head extra}'. This is caused by introducing a top-level `config' or `options' attribute."
            else
              m.config or { };
        }
      ) ordered;

      # One tree of declarations; declaring an option twice is an error.
      mergeDecls =
        loc: a: bb:
        a
        // mapAttrs (
          n: v:
          let
            o = a.${n};
            both = k: o ? ${k} && v ? ${k};
            dup = throw "The option `${showOption (loc ++ [ n ])}' in `${v._file or "?"}' is already declared in `${o._file or "?"}'.";
          in
          if !(a ? ${n}) then
            v
          else if isOption v && isOption o then
            # Like nixpkgs: a second declaration may only add to the first.
            # (Merging two submodule declarations is not supported here.)
            if both "default" || both "example" || both "description" || both "apply" then
              dup
            else if both "type" && (o.type.name != v.type.name || o.type.name == "submodule") then
              dup
            else
              o // v
          else if isOption v || isOption o then
            dup
          else
            mergeDecls (loc ++ [ n ]) o v
        ) bb;
      tagDecls = file: t: mapAttrs (_: v: if isOption v then v // { _file = file; } else if isAttrs v then tagDecls file v else throw "option tree ${file}: not an option or attribute set") t;
      decls = foldl' (acc: m: mergeDecls prefix acc (tagDecls m.file m.options)) { } normalised;

      defsOf = map (m: {
        inherit (m) file;
        value = m.config;
      }) normalised;

      # Push definitions one level down; every value must be an attrset.
      level =
        loc: defs:
        map (
          d:
          if isAttrs d.value && tagOf d.value == null then
            d
          else
            throw "The option `${showOption loc}' is not an option but a namespace; `${d.file}' defines it as ${showVal d.value}"
        ) (concatMap (d: map (v: { inherit (d) file; value = v; }) (pushDown d.value)) defs);
      below =
        n: ds:
        map (d: {
          inherit (d) file;
          value = d.value.${n};
        }) (filter (d: d.value ? ${n}) ds);

      unknownCheck =
        loc: dtree: defs:
        let
          ds = level loc defs;
          names = unique (concatMap (d: attrNames d.value) ds);
          bad = filter (n: !(dtree ? ${n})) names;
          culprit = head (filter (d: d.value ? ${head bad}) ds);
        in
        if bad != [ ] then
          throw "The option `${showOption (loc ++ [ (head bad) ])}' does not exist. Definition values:${
            showDefs [
              {
                inherit (culprit) file;
                value = culprit.value.${head bad};
              }
            ]
          }"
        else
          ds;

      evalTree =
        loc: dtree: defs:
        let
          ds = unknownCheck loc dtree defs;
        in
        mapAttrs (
          n: decl:
          let
            sub = below n ds;
          in
          if isOption decl then evalOption (loc ++ [ n ]) decl sub else evalTree (loc ++ [ n ]) decl sub
        ) dtree;

      evalOption =
        loc: decl: defs:
        let
          type = decl.type or types.unspecified;
          withDefault =
            defs
            ++ optional (decl ? default) {
              file = "default of ${showOption loc}";
              value = mkOptionDefault decl.default;
            };
          r = mergeDefinitions loc type withDefault;
          value = if decl ? apply then decl.apply r.value else r.value;
        in
        decl
        // {
          inherit value loc;
          inherit (r) isDefined definitions files;
        };

      optionTree = evalTree prefix decls defsOf;
      toConfig = t: mapAttrs (_: v: if isOption v then v.value else toConfig v) t;
      internalConfig = toConfig optionTree;

      # nixpkgs' _module.check: every namespace, not only the ones read.
      checkAll =
        loc: dtree: defs:
        let
          ds = unknownCheck loc dtree defs;
        in
        seq ds (all (n: isOption dtree.${n} || checkAll (loc ++ [ n ]) dtree.${n} (below n ds)) (attrNames dtree));
      checked = seq (checkAll prefix decls defsOf);
    in
    {
      _type = "configuration";
      config = checked internalConfig;
      options = checked optionTree;
    };

  # ------------------------------------------------------- lib.fileset
  # Only what pkgs/*.nix use.  Missing paths fail like the real fileset.
  fileset = {
    unions = paths: {
      _type = "fileset";
      inherit paths;
    };
    toSource =
      { root, fileset }:
      let
        paths = if tagOf fileset == "fileset" then fileset.paths else [ fileset ];
        ok = map (
          p:
          if b.pathExists p then
            p
          else
            throw "lib.fileset.toSource: path ${toString p} does not exist"
        ) paths;
      in
      deepSeq ok root;
  };

  lib = {
    inherit
      id
      const
      optional
      optionals
      optionalAttrs
      optionalString
      concatStrings
      concatMapStrings
      concatMapStringsSep
      hasPrefix
      hasSuffix
      removePrefix
      removeSuffix
      splitString
      isStringLike
      isDerivation
      isStorePath
      last
      imap0
      imap1
      unique
      flatten
      count
      findFirst
      toList
      nameValuePair
      mapAttrs'
      mapAttrsToList
      filterAttrs
      genAttrs
      attrByPath
      zipAttrsWith
      recursiveUpdate
      boolToString
      escapeShellArg
      escapeShellArgs
      makeBinPath
      warn
      warnIf
      getExe
      getExe'
      showOption
      mkIf
      mkMerge
      mkOverride
      mkOptionDefault
      mkDefault
      mkForce
      mkVMOverride
      mkOrder
      mkBefore
      mkAfter
      filterOverrides
      mergeEqualOption
      mergeOneOption
      mergeDefaultOption
      mkOption
      isOption
      mkEnableOption
      mkPackageOption
      literalExpression
      literalMD
      mdDoc
      mkOptionType
      types
      evalModules
      fileset
      ;
    inherit (b)
      all
      any
      attrNames
      attrValues
      concatLists
      concatMap
      concatStringsSep
      elem
      elemAt
      filter
      foldl'
      functionArgs
      genList
      hasAttr
      head
      intersectAttrs
      isAttrs
      isBool
      isFunction
      isInt
      isList
      isPath
      isString
      length
      listToAttrs
      mapAttrs
      removeAttrs
      replaceStrings
      sort
      stringLength
      substring
      tail
      toJSON
      typeOf
      ;
    min = x: y: if x < y then x else y;
    max = x: y: if x > y then x else y;
    map = b.map;
    toString = b.toString;
    trivial = { inherit id const boolToString warn; };
    strings = { inherit concatStrings concatMapStringsSep escapeShellArg escapeShellArgs hasPrefix hasSuffix removePrefix removeSuffix splitString; };
    lists = { inherit optional optionals imap0 imap1 unique flatten count findFirst last toList; };
    attrsets = { inherit optionalAttrs nameValuePair mapAttrs' mapAttrsToList filterAttrs genAttrs attrByPath recursiveUpdate; };
    options = { inherit mkOption mkEnableOption mkPackageOption literalExpression showOption mergeEqualOption mergeOneOption mergeDefaultOption; };
    modules = { inherit evalModules mkIf mkMerge mkOverride mkDefault mkForce mkOrder mkBefore mkAfter; };
    platforms.linux = [
      "x86_64-linux"
      "aarch64-linux"
      "i686-linux"
      "armv7l-linux"
      "riscv64-linux"
    ];
    licenses.agpl3Plus = {
      shortName = "agpl3Plus";
      spdxId = "AGPL-3.0-or-later";
      fullName = "GNU Affero General Public License v3.0 or later";
    };
    version = "stand-in";
  };
in
lib
