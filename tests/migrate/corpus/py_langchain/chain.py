import os

from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import AzureChatOpenAI, ChatOpenAI, OpenAIEmbeddings

prompt = ChatPromptTemplate.from_messages([("system", "You are terse."), ("user", "{question}")])

llm = ChatOpenAI(model="gpt-4o-mini", temperature=0, streaming=True)
embeddings = OpenAIEmbeddings(model="text-embedding-3-large")

azure_llm = AzureChatOpenAI(
    azure_deployment="gpt-4o",
    openai_api_version="2024-02-01",
    azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
)

chain = prompt | llm


def ask(question: str) -> str:
    return str(chain.invoke({"question": question}).content)
