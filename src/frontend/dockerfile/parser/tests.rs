use super::*;

fn p(text: &str) -> Ast {
    parse(text, Path::new("Dockerfile")).unwrap()
}

fn e(text: &str) -> String {
    parse(text, Path::new("Dockerfile"))
        .unwrap_err()
        .to_string()
}

#[test]
fn keywords_are_case_insensitive_and_lines_kept() {
    let ast = p("from alpine\n\nrun echo hi\n");
    assert_eq!(ast.nodes[0].keyword, "FROM");
    assert_eq!(ast.nodes[1].keyword, "RUN");
    assert_eq!(ast.nodes[1].rest, "echo hi");
    assert_eq!((ast.nodes[1].start_line, ast.nodes[1].end_line), (3, 3));
}

#[test]
fn continuation_skips_comments_and_blank_lines() {
    let ast = p("FROM a\nRUN echo a \\\n# comment\n\n  && echo b\nCMD x\n");
    assert_eq!(ast.nodes[1].rest, "echo a   && echo b");
    assert_eq!((ast.nodes[1].start_line, ast.nodes[1].end_line), (2, 5));
    assert_eq!(ast.nodes[1].empty_continuation, Some(5));
    assert_eq!(ast.nodes[2].start_line, 6);
    assert_eq!(ast.nodes[2].empty_continuation, None);
}

#[test]
fn escaped_escape_does_not_continue() {
    let ast = p("FROM a\nRUN echo \\\\\nCMD x\n");
    assert_eq!(ast.nodes[1].rest, "echo \\\\");
    assert_eq!(ast.nodes.len(), 3);
    // Trailing blanks after the escape character still continue the line.
    let ast = p("FROM a\nRUN a \\  \t\n b\n");
    assert_eq!(ast.nodes[1].rest, "a  b");
}

#[test]
fn directives_only_at_top() {
    let ast = p("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN a `\n b\n");
    assert_eq!(ast.escape, '`');
    assert_eq!(ast.directive("syntax"), Some("docker/dockerfile:1"));
    assert_eq!(ast.nodes[1].rest, "a  b");
    let ast = p("FROM a\n# escape=`\nRUN a \\\n b\n");
    assert_eq!(ast.escape, '\\');
    assert_eq!(ast.nodes.len(), 2);
    let ast = p("# comment\n# escape=`\nFROM a\n");
    assert_eq!(ast.escape, '\\');
    // An unknown directive is a comment, and ends the directives.
    let ast = p("# foo=bar\n# escape=`\nFROM a\n");
    assert_eq!(ast.escape, '\\');
    let ast = p("# check=skip=all\nFROM a\n");
    assert_eq!(ast.directive("check"), Some("skip=all"));
}

#[test]
fn bad_escape_and_duplicate_directive_fail() {
    assert!(e("# escape=x\nFROM a").contains("invalid escape token"));
    assert!(e("# syntax=a\n# syntax=b\nFROM a").contains("only one `syntax`"));
}

#[test]
fn empty_file_is_an_error() {
    assert!(e("# only a comment\n\n").contains("file with no instructions"));
    assert!(e("").contains("file with no instructions"));
}

#[test]
fn flags_are_extracted() {
    let ast = p("FROM a\nCOPY --from=build --link  src dst\n");
    assert_eq!(ast.nodes[1].flags, vec!["from=build", "link"]);
    assert_eq!(ast.nodes[1].rest, "src dst");
    // BuildKit's `extractBuilderFlags`: quotes removed, quoted spaces kept, `--` ends the flags.
    let ast = p("FROM a\nRUN --mount=\"type=bind,target=/a b\" --network='none' -- --x y\n");
    assert_eq!(
        ast.nodes[1].flags,
        vec!["mount=type=bind,target=/a b", "network=none"]
    );
    assert_eq!(ast.nodes[1].rest, "--x y");
}

#[test]
fn heredocs_are_read() {
    let ast = p("FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-\"X\" /f\n\tline $A\n\tX\nCMD y\n");
    assert_eq!(ast.nodes[1].heredocs[0].content, "echo hi\n");
    assert_eq!(ast.nodes[1].end_line, 4);
    let h = &ast.nodes[2].heredocs[0];
    assert_eq!(
        (h.name.as_str(), h.content.as_str(), h.expand, h.chomp),
        ("X", "\tline $A\n", false, true)
    );
    assert_eq!(h.body(), "line $A\n");
    assert_eq!(ast.nodes[3].keyword, "CMD");
    assert!(e("FROM a\nRUN <<EOF\necho").contains("unterminated heredoc"));
}

#[test]
fn heredocs_only_in_shell_form_and_onbuild() {
    // The exec form holds no heredoc: the next line is an instruction.
    let ast = p("FROM a\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nCMD y\n");
    assert!(ast.nodes[1].heredocs.is_empty());
    assert_eq!(ast.nodes.len(), 3);
    let ast = p("FROM a\nONBUILD RUN <<EOF\necho\nEOF\n");
    assert_eq!(ast.nodes[1].heredocs[0].content, "echo\n");
    let ast = p("FROM a\nENV A=<<EOF\nCMD x\n");
    assert_eq!(ast.nodes.len(), 3);
}

#[test]
fn line_parser_errors_are_parse_errors() {
    assert!(e("FROM a\nCMD [1, 2]\n").contains("arrays must be comprised of strings only"));
    assert!(e("FROM a\nENV A\n").contains("ENV must have two arguments"));
    assert!(e("FROM a\nONBUILD RUN [true]\n").contains("strings only"));
}
