//! Who may do what on the Tarantool side: nobody without the gateway's
//! credentials, and the gateway's user nothing but its own functions.

use std::process::{Command, Stdio};

use rusty_tarantool::tarantool::{ClientConfig, IteratorType};

use crate::helpers::{TestTarantool, PASSWORD};

/// Tarantool's system view of the functions a user may see (`_vfunc`).
const VFUNC_SPACE: i32 = 297;

/// Runs `script` in a `tarantool` client process with `address` as `arg[1]`
/// and returns what it printed; a net.box connection like any other client's.
fn run_client(script: &str, address: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client.lua");
    std::fs::write(&file, script).unwrap();
    let output = Command::new("timeout")
        .args(["20", "tarantool"])
        .arg(&file)
        .arg(address)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("tarantool runs (apt-get install tarantool)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_connection_without_credentials_can_neither_log_in_nor_call_anything() {
    let tarantool = TestTarantool::start();
    let printed = run_client(
        r#"
        local conn = require('net.box').connect(arg[1], { wait_connected = 5 })
        print('connected=' .. tostring(conn:is_connected()))
        for _, call in ipairs({
            function() return conn:call('LUA', { 'return box.session.effective_user()' }) end,
            function() return conn:call('kv_batch', { { { 'get', 'k' } } }) end,
            function() return conn:eval('return 1') end,
            function() return conn.space._vspace:select({}, { limit = 1 }) end,
        }) do
            local ok, err = pcall(call)
            print('call=' .. tostring(ok) .. ' ' .. tostring(err))
        end
        os.exit(0)
        "#,
        &tarantool.address(),
    );
    assert!(printed.contains("connected=false"), "{printed}");
    assert_eq!(printed.matches("call=false").count(), 4, "{printed}");
    assert!(!printed.contains("call=true"), "{printed}");
    assert!(!printed.contains("admin"), "{printed}");
}

#[test]
fn the_gateway_user_cannot_run_code_through_lua_eval_or_sql() {
    let tarantool = TestTarantool::start();
    let address = format!("kv_gateway:{PASSWORD}@{}", tarantool.address());
    let printed = run_client(
        r#"
        local conn = require('net.box').connect(arg[1], { wait_connected = 5 })
        print('connected=' .. tostring(conn:is_connected()))
        for name, call in pairs({
            lua = function() return conn:call('LUA', { 'return box.session.effective_user()' }) end,
            user_info = function() return conn:call('box.schema.user.info') end,
            builtin = function() return conn:call('TRIM', { ' x ' }) end,
            eval = function() return conn:eval('return box.session.effective_user()') end,
            sql_lua = function() return conn:execute([[SELECT LUA('return 1')]]) end,
            sql_read = function() return conn:execute([[SELECT * FROM "kv"]]) end,
            box_call = function() return conn:call('box.space.kv:select') end,
        }) do
            local ok, err = pcall(call)
            print(name .. '=' .. tostring(ok) .. ' ' .. tostring(err))
        end
        os.exit(0)
        "#,
        &address,
    );
    assert!(printed.contains("connected=true"), "{printed}");
    for name in [
        "lua",
        "user_info",
        "builtin",
        "eval",
        "sql_lua",
        "sql_read",
        "box_call",
    ] {
        assert!(printed.contains(&format!("{name}=false")), "{printed}");
    }
    assert!(!printed.contains("admin"), "{printed}");
}

#[tokio::test]
async fn the_gateway_user_may_call_the_kv_functions_and_nothing_else() {
    let tarantool = TestTarantool::start();
    let client = ClientConfig::new(tarantool.address(), "kv_gateway", PASSWORD).build();
    let get = rmpv::Value::Array(vec![rmpv::Value::from(vec![
        rmpv::Value::from("get"),
        rmpv::Value::from("nobody"),
    ])]);
    let missing = client
        .call_fn("kv_batch", &(get,))
        .await
        .expect("kv_batch is allowed");
    let (reply,): (Vec<rmpv::Value>,) = missing.decode().unwrap();
    assert_eq!(reply[0].as_str(), Some("missing"));

    // _vfunc lists exactly the functions this user has a privilege on.
    let visible = client
        .select(
            VFUNC_SPACE,
            0,
            &Vec::<rmpv::Value>::new(),
            0,
            1000,
            IteratorType::ALL,
        )
        .await
        .expect("_vfunc is readable");
    let rows: Vec<Vec<rmpv::Value>> = visible.decode().unwrap();
    let mut names: Vec<String> = rows
        .iter()
        .map(|row| row[2].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["kv_batch", "kv_ready", "kv_watch"]);

    let eval = client.eval("return box.space.kv:select()", &()).await;
    assert!(eval.is_err(), "eval must be denied");
    let drop = client.call_fn("box.space.kv:drop", &()).await;
    assert!(drop.is_err(), "calling box functions must be denied");
    // The kv space is 512+; any direct select is denied.
    let select = client
        .select(512, 0, &("x",), 0, 10, IteratorType::EQ)
        .await;
    assert!(select.is_err(), "direct reads must be denied");
}

#[test]
fn init_lua_refuses_placeholder_passwords() {
    for placeholder in ["change-me", "password", "Password", "changeme"] {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("tarantool")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tarantool/init.lua"))
            .current_dir(dir.path())
            .env("KV_GATEWAY_PASSWORD", placeholder)
            .env("TARANTOOL_WORK_DIR", dir.path())
            .env("TARANTOOL_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .output()
            .expect("tarantool runs (apt-get install tarantool)");
        assert_eq!(output.status.code(), Some(1), "{placeholder}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("placeholder"), "{stderr}");
    }
}
