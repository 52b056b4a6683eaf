// What a front-end on another site does, reported as plain data for the tests.

// fetch(url, init), answered as {outcome: "response", status, type, ..., body} when the script
// may read the response, or {outcome: "error", name, message} when the browser withholds it.
async function callApi(url, init) {
  try {
    const response = await fetch(url, init);
    let body = null;
    try {
      body = await response.text();
    } catch (error) {
      body = null;
    }
    return {
      outcome: "response",
      status: response.status,
      type: response.type,
      redirected: response.redirected,
      url: response.url,
      headers: Object.fromEntries(response.headers),
      body: body,
    };
  } catch (error) {
    return {outcome: "error", name: error.name, message: error.message};
  }
}

// A credentialed cross-origin POST through XMLHttpRequest with an upload listener: the Fetch
// standard then forces a preflight even though method and headers are safelisted.
function postWithUploadListener(url) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.withCredentials = true;
    request.upload.addEventListener("progress", () => {});
    request.onload = () => resolve({outcome: "response", status: request.status, body: request.responseText});
    request.onerror = () => resolve({outcome: "error", name: "NetworkError", message: "XMLHttpRequest failed"});
    request.send("payload");
  });
}

// Frame `url` and report whether the framed document could be shown.
function frame(url) {
  return new Promise((resolve) => {
    const element = document.createElement("iframe");
    element.src = url;
    element.title = "framed";
    element.onload = () => resolve("loaded");
    document.body.appendChild(element);
  });
}

// Post a form to `url` from this page, as a cross-site page could try with the login form.
function postForm(url, fields) {
  const form = document.createElement("form");
  form.method = "POST";
  form.action = url;
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}
